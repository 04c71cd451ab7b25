import { KeyObject, randomUUID } from 'node:crypto';
import { assertionLifetimeSeconds, CLIENT_ASSERTION_TYP } from '@keyshift/domain';
import { SignJWT } from 'jose';

/** A key a client signs its assertions with (issue 4 manages them; probes only use them). */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Backdating iat absorbs clock skew between Keyshift and the server. */
export const IAT_BACKDATE_SECONDS = 5;

export interface AssertionInput {
  clientId: string;
  audience: string;
  key: SigningKey;
  /** The server's longest accepted lifetime; capped at a minute (assertionLifetimeSeconds). */
  serverMaxSeconds: number;
  now: Date;
}

/**
 * An RFC 7523 client assertion: iss = sub = client_id, aud per the server's profile, a unique jti,
 * iat backdated against skew, exp at most 60 s ahead, and the key's kid in the header.
 */
export async function buildClientAssertion({
  clientId,
  audience,
  key,
  serverMaxSeconds,
  now,
}: AssertionInput): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000) - IAT_BACKDATE_SECONDS;
  const lifetime = assertionLifetimeSeconds(serverMaxSeconds);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CLIENT_ASSERTION_TYP })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + IAT_BACKDATE_SECONDS + lifetime)
    .sign(key.privateKey);
}
