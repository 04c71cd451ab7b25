/**
 * The JWS algorithms Keyshift can sign with, per thing it signs, as the JOSE `alg` names the
 * signing library writes into the header. One table, read by the vendor check (phase 1) and by the
 * code that signs, so a server passes the check only with an alg the probes will really send.
 *
 * - Client assertions (RFC 7523): jose signs with the client's key. An Ed25519 key signs as
 *   `EdDSA` (RFC 8037), the name servers advertise; the key generator makes keys for these algs.
 * - DPoP proofs (RFC 9449): panva's `dpop` 2.x makes a fresh key per probe and names its Ed25519
 *   proofs `Ed25519` (RFC 9864's fully-specified name); it cannot write `EdDSA`. A server that
 *   accepts only `EdDSA` proofs therefore has no DPoP alg Keyshift can use.
 *
 * Order is preference: the first alg the server also advertises is used.
 */
export const SIGNING_ALGS = {
  clientAssertion: ['ES256', 'PS256', 'RS256', 'EdDSA'],
  dpopProof: ['ES256', 'Ed25519', 'PS256', 'RS256'],
} as const;

export type ClientAssertionAlg = (typeof SIGNING_ALGS.clientAssertion)[number];
export type DpopProofAlg = (typeof SIGNING_ALGS.dpopProof)[number];

/** How a key pair for an algorithm is generated (node:crypto generateKeyPair's type and options). */
export type KeyGenerationParams =
  { type: 'ec'; namedCurve: 'P-256' } | { type: 'rsa'; defaultModulusLength: RsaModulusLength } | { type: 'ed25519' };

export interface ClientKeyAlgSpec {
  /** The JWK key type (and curve) the algorithm needs (RFC 7518, RFC 8037). */
  kty: 'EC' | 'RSA' | 'OKP';
  crv?: 'P-256' | 'Ed25519';
  generation: KeyGenerationParams;
}

/** The RSA moduli Keyshift generates; 2048 unless asked. */
export const RSA_MODULUS_LENGTHS = [2048, 3072] as const;
export type RsaModulusLength = (typeof RSA_MODULUS_LENGTHS)[number];

/**
 * The algorithms Keyshift makes client keys for, exactly the client-assertion algs: the key type
 * each needs and how its key pair is generated. Keys: `SIGNING_ALGS.clientAssertion`, in its order.
 */
export const CLIENT_KEY_ALGS = {
  ES256: { kty: 'EC', crv: 'P-256', generation: { type: 'ec', namedCurve: 'P-256' } },
  PS256: { kty: 'RSA', generation: { type: 'rsa', defaultModulusLength: 2048 } },
  RS256: { kty: 'RSA', generation: { type: 'rsa', defaultModulusLength: 2048 } },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', generation: { type: 'ed25519' } },
} as const satisfies Record<ClientAssertionAlg, ClientKeyAlgSpec>;

/** The algorithm of a client's first key when the server advertises none Keyshift signs with. */
export const DEFAULT_CLIENT_KEY_ALG: ClientAssertionAlg = 'ES256';

/** Whether the algorithm signs with an RSA key (and so takes a modulus length). */
export function isRsaAlg(alg: ClientAssertionAlg): boolean {
  return CLIENT_KEY_ALGS[alg].kty === 'RSA';
}

/**
 * The members a published JWK may carry, per key type (RFC 7517/7518/8037). The JWKS is built from
 * this allowlist rather than by deleting private members, so a member nobody thought of is never
 * published.
 */
export const PUBLIC_JWK_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

/** Private members of any key type: an upload carrying one is refused. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The first client-assertion alg both sides support, or null. */
export function usableAlg(advertised: readonly string[]): ClientAssertionAlg | null {
  return SIGNING_ALGS.clientAssertion.find((alg) => advertised.includes(alg)) ?? null;
}

/** The first DPoP proof alg both sides support, or null. */
export function usableDpopAlg(advertised: readonly string[]): DpopProofAlg | null {
  return SIGNING_ALGS.dpopProof.find((alg) => advertised.includes(alg)) ?? null;
}
