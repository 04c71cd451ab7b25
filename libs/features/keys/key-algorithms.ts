import {
  CLIENT_KEY_ALGS,
  ClientAssertionAlg,
  DEFAULT_CLIENT_KEY_ALG,
  isRsaAlg,
  PRIVATE_JWK_MEMBERS,
  PUBLIC_JWK_MEMBERS,
  RSA_MODULUS_LENGTHS,
  RsaModulusLength,
  SIGNING_ALGS,
} from '@keyshift/domain';

/**
 * The algorithms Keyshift generates keys for, as the enum-like object the entities' checks and the
 * DTOs' validators take. Derived from the one table in libs/domain (signing-algs.ts): RFC 7518
 * names; EdDSA is Ed25519, RFC 8037.
 */
export type KeyAlgorithm = ClientAssertionAlg;
export const KeyAlgorithm = Object.fromEntries(SIGNING_ALGS.clientAssertion.map((alg) => [alg, alg])) as {
  readonly [A in ClientAssertionAlg]: A;
};

export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = DEFAULT_CLIENT_KEY_ALG;
export { RSA_MODULUS_LENGTHS };
export type { RsaModulusLength };

export interface KeySpec {
  alg: KeyAlgorithm;
  /** RSA only (PS256, RS256); 2048 when not given. */
  modulusLength?: RsaModulusLength;
}

export const isRsa: (alg: KeyAlgorithm) => boolean = isRsaAlg;

/** See PUBLIC_JWK_MEMBERS in libs/domain. */
export const PUBLIC_MEMBERS = PUBLIC_JWK_MEMBERS;

/** See PRIVATE_JWK_MEMBERS in libs/domain. */
export const PRIVATE_MEMBERS = PRIVATE_JWK_MEMBERS;

/** The key type and curve each algorithm needs, to check an uploaded public key against its alg. */
export const ALGORITHM_KEY_TYPE: Record<KeyAlgorithm, { kty: string; crv?: string }> = CLIENT_KEY_ALGS;
