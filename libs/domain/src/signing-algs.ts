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

/** The first client-assertion alg both sides support, or null. */
export function usableAlg(advertised: readonly string[]): ClientAssertionAlg | null {
  return SIGNING_ALGS.clientAssertion.find((alg) => advertised.includes(alg)) ?? null;
}

/** The first DPoP proof alg both sides support, or null. */
export function usableDpopAlg(advertised: readonly string[]): DpopProofAlg | null {
  return SIGNING_ALGS.dpopProof.find((alg) => advertised.includes(alg)) ?? null;
}
