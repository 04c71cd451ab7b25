import { compactVerify, importJWK, JWK } from 'jose';
import { DomainError } from '@keyshift/common';
import { ALGORITHM_KEY_TYPE, isRsa, KeyAlgorithm, PRIVATE_MEMBERS } from './key-algorithms';

const MIN_RSA_BITS = 2048;

/** Refuses an uploaded JWK that carries private members, or that does not fit its algorithm. */
export function checkUploadedJwk(jwk: Record<string, unknown>, alg: KeyAlgorithm): void {
  const secret = PRIVATE_MEMBERS.filter((m) => m in jwk);
  if (secret.length) {
    throw DomainError.validation([
      {
        field: 'jwk',
        message: `contains private key members (${secret.join(', ')}); upload only the public key, the private key stays with the workload`,
      },
    ]);
  }
  const want = ALGORITHM_KEY_TYPE[alg];
  if (jwk.kty !== want.kty || (want.crv && jwk.crv !== want.crv)) {
    throw DomainError.validation([
      {
        field: 'jwk',
        // The uploaded kty and crv are not quoted back: an error never echoes a field's value.
        message: `${alg} needs a ${want.kty}${want.crv ? ` ${want.crv}` : ''} key`,
      },
    ]);
  }
  if (isRsa(alg) && Buffer.from(String(jwk.n ?? ''), 'base64url').length * 8 < MIN_RSA_BITS) {
    throw DomainError.validation([{ field: 'jwk', message: `RSA keys must be at least ${MIN_RSA_BITS} bits` }]);
  }
}

/** Verifies the proof of possession: a JWS over {"nonce": …} signed by the uploaded key with `alg`. */
export async function verifyPossession(
  jwk: Record<string, unknown>,
  alg: KeyAlgorithm,
  proof: string,
  nonce: string,
): Promise<void> {
  let payload: Uint8Array;
  try {
    const key = await importJWK(jwk as JWK, alg);
    ({ payload } = await compactVerify(proof, key, { algorithms: [alg] }));
  } catch (error) {
    throw DomainError.validation([
      // jose's message can quote the key or the token it could not parse: named, not quoted.
      { field: 'proof', message: `is not a valid JWS signed by this key with ${alg} (${(error as Error).name})` },
    ]);
  }
  let claimed: unknown;
  try {
    claimed = (JSON.parse(Buffer.from(payload).toString('utf8')) as { nonce?: unknown }).nonce;
  } catch {
    claimed = undefined;
  }
  if (claimed !== nonce)
    throw DomainError.validation([{ field: 'proof', message: 'payload must be {"nonce": <the challenge\'s nonce>}' }]);
}
