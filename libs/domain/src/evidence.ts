/**
 * What a worker observed, summarised for the gate. The full probe records live in the database;
 * evidence here carries only what a gate decides on, plus the id of the probe that justified it.
 */
export type Evidence =
  | { kind: 'vendor_support'; supported: true }
  | { kind: 'vendor_support'; supported: false; missing: string[] }
  /** A private_key_jwt token request signed with the client's new key. */
  | { kind: 'key_probe'; ok: boolean; probeId?: string; detail?: string }
  /** Both credentials probed repeatedly; counts since the soak window opened. */
  | {
      kind: 'parallel_soak';
      secretSuccesses: number;
      keySuccesses: number;
      windowOpenedAt: Date;
      /** A probe the server refused outright (e.g. invalid_client): the overlap is broken. */
      rejection?: string;
    }
  /** A token request with the old secret after revocation: `rejected` must be true to proceed. */
  | { kind: 'secret_probe_after_revocation'; rejected: boolean; probeId?: string; detail?: string }
  /** A DPoP token request and one without a proof. */
  | { kind: 'dpop_probe'; boundTokenIssued: boolean; unboundRefused: boolean; probeId?: string };

export type EvidenceKind = Evidence['kind'];
