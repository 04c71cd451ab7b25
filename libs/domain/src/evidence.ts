/**
 * What a worker observed, summarised for the gate. The full probe records live in the database;
 * evidence here carries only what a gate decides on, plus the id of the probe that justified it.
 */
export type Evidence =
  | { kind: 'vendor_support'; supported: true }
  | { kind: 'vendor_support'; supported: false; missing: string[] }
  /**
   * The client's new key at work: a private_key_jwt token request signed with it, or, where the
   * server holds one method per client, an assertion verified against the JWKS the server reads.
   */
  | { kind: 'key_probe'; ok: boolean; via: 'token_request' | 'published_jwks'; probeId?: string; detail?: string }
  /** Both credentials probed repeatedly; counts since the soak window opened. */
  | {
      kind: 'parallel_soak';
      secretSuccesses: number;
      keySuccesses: number;
      windowOpenedAt: Date;
      /** A probe the server refused outright (e.g. invalid_client): the overlap is broken. */
      rejection?: string;
      /** Shown with the soak's progress (e.g. that the server allows no real overlap). */
      note?: string;
    }
  /** A token request with the old secret after revocation: `rejected` must be true to proceed. */
  | { kind: 'secret_probe_after_revocation'; rejected: boolean; probeId?: string; detail?: string }
  /** A DPoP token request and one without a proof. */
  | { kind: 'dpop_probe'; boundTokenIssued: boolean; unboundRefused: boolean; probeId?: string; detail?: string };

export type EvidenceKind = Evidence['kind'];
