import { assertUnreachable } from '@keyshift/domain';
import { calculateJwkThumbprint, JSONWebKeySet } from 'jose';

/**
 * Where the server reads a client's public keys, taken from its own registration record (an RFC
 * 7592 read), not from what Keyshift asked for: key registration's evidence is about what the
 * server holds. A connector that cannot read the record (changes made by hand) falls back to the
 * jwks_uri an operator confirmed setting, and says so.
 */
export type HeldKeySet =
  | { kind: 'jwks_uri'; uri: string; source: 'server_record' | 'operator_confirmation' }
  | { kind: 'jwks'; jwks: JSONWebKeySet }
  | { kind: 'none' };

/** The key set in a registration record (RFC 7591 §2: `jwks_uri` or `jwks`, never both). */
export function heldKeySet(metadata: Record<string, unknown>): HeldKeySet {
  if (typeof metadata.jwks_uri === 'string' && metadata.jwks_uri !== '') {
    return { kind: 'jwks_uri', uri: metadata.jwks_uri, source: 'server_record' };
  }
  const jwks = metadata.jwks as { keys?: unknown } | undefined;
  if (jwks && typeof jwks === 'object' && Array.isArray(jwks.keys)) {
    return { kind: 'jwks', jwks: { keys: jwks.keys.filter((k) => k && typeof k === 'object') } as JSONWebKeySet };
  }
  return { kind: 'none' };
}

/**
 * Why the held key set cannot hold the client's key, or null when it can: no key at all, a jwks_uri
 * other than Keyshift's for the client, or an inline set without the key's kid or RFC 7638
 * thumbprint (Keyshift's kids are thumbprints). Each one needs a person: retrying changes nothing
 * the server holds.
 */
export async function heldKeyMismatch(
  held: HeldKeySet,
  expected: { jwksUri: string; kid: string },
  clientId: string,
): Promise<string | null> {
  switch (held.kind) {
    case 'none':
      return `the server's registration of ${clientId} holds no key (neither jwks_uri nor jwks): the key was never registered there`;
    case 'jwks_uri':
      return held.uri === expected.jwksUri
        ? null
        : `the server's registration of ${clientId} names jwks_uri ${held.uri}, not Keyshift's ${expected.jwksUri}`;
    case 'jwks':
      for (const jwk of held.jwks.keys) {
        if (jwk.kid === expected.kid) return null;
        if ((await calculateJwkThumbprint(jwk).catch(() => null)) === expected.kid) return null;
      }
      return `the jwks the server holds for ${clientId} has no key with kid or thumbprint ${expected.kid}`;
    default:
      return assertUnreachable(held);
  }
}
