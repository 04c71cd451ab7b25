/** Signing algorithms Keyshift generates keys for (RFC 7518 names; EdDSA is Ed25519, RFC 8037). */
export enum KeyAlgorithm {
  ES256 = 'ES256',
  PS256 = 'PS256',
  RS256 = 'RS256',
  EdDSA = 'EdDSA',
}

export const DEFAULT_KEY_ALGORITHM = KeyAlgorithm.ES256;
export const RSA_MODULUS_LENGTHS = [2048, 3072] as const;
export type RsaModulusLength = (typeof RSA_MODULUS_LENGTHS)[number];

export interface KeySpec {
  alg: KeyAlgorithm;
  /** RSA only (PS256, RS256); 2048 when not given. */
  modulusLength?: RsaModulusLength;
}

export function isRsa(alg: KeyAlgorithm): boolean {
  return alg === KeyAlgorithm.PS256 || alg === KeyAlgorithm.RS256;
}

/**
 * The members a published JWK may carry, per key type (RFC 7517/7518/8037). The JWKS is built from
 * this allowlist rather than by deleting private members, so a member nobody thought of is never
 * published.
 */
export const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

/** Private members of any key type: an upload carrying one is refused. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The key type and curve each algorithm needs, to check an uploaded public key against its alg. */
export const ALGORITHM_KEY_TYPE: Record<KeyAlgorithm, { kty: string; crv?: string }> = {
  [KeyAlgorithm.ES256]: { kty: 'EC', crv: 'P-256' },
  [KeyAlgorithm.PS256]: { kty: 'RSA' },
  [KeyAlgorithm.RS256]: { kty: 'RSA' },
  [KeyAlgorithm.EdDSA]: { kty: 'OKP', crv: 'Ed25519' },
};
