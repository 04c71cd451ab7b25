/**
 * The summary on top of every estate report (JSON, CSV's companion, PDF). Plain data: the queries
 * that fill it live in estate-summary.repository.ts, the renderers only read it.
 */

import type { VerifyOutcome } from '../audit/audit-verify-outcome';
import type { ClientFilter } from '../ports/client-filter';

/** Which clients a report covers: the client list's filters, but for state (the report shows every state). */
export type EstateFilter = Omit<ClientFilter, 'state'>;

export interface CountBucket {
  /** A human label, e.g. `30-90 days`. */
  label: string;
  /** The bucket's lower bound in days, for arithmetic on buckets without parsing labels. */
  fromDays: number;
  count: number;
}

/** One control a reviewer asks about, and what Keyshift's evidence shows for it (never a compliance claim). */
export interface ControlFinding {
  /** e.g. `RFC 9700`, `FAPI 2.0`, `PCI DSS 4.0`, `SOC 2`. */
  framework: string;
  /** e.g. `§2.5`, `8.6.3`, `CC6.1`. */
  reference: string;
  /** What the control is about, in a few words. */
  topic: string;
  /** What the recorded evidence shows, with its figures, stated as fact. */
  observation: string;
  /** Where in this report (or the evidence packs) a reviewer finds the underlying records. */
  evidence: string;
}

export interface EstateFailure {
  /** Keyshift's id of the client (the evidence pack is /v1/clients/{id}/evidence). */
  id: string;
  clientId: string;
  phase: string;
  state: 'failed' | 'blocked';
  reason: string | null;
  since: string;
}

export interface EstateSummary {
  generatedAt: string;
  filter: EstateFilter;
  totals: {
    clients: number;
    /** Still holding a shared secret Keyshift knows of (not revoked). */
    onSharedSecret: number;
    /** Secret revoked at the server on evidence and shredded by Keyshift. */
    secretsRevoked: number;
    /** Authenticating with private_key_jwt at the server now. */
    keyAuthenticated: number;
    /** Tokens bound by DPoP at the server (sender_constraint done). */
    senderConstrained: number;
    completed: number;
    failed: number;
    blocked: number;
    /** Active keys older than their rotation policy's period. */
    keysPastRotation: number;
  };
  /** Clients currently in each phase, in phase order (vendor_check … completed). */
  phases: { phase: string; count: number; byState: Record<string, number> }[];
  /** Clients still on a shared secret, by the secret's age (issue date where imported, else since import). */
  secretAges: CountBucket[];
  /** Per day, clients holding a shared secret at the end of that day (oldest first). */
  secretsRemaining: { date: string; remaining: number }[];
  /** Active keys by age. */
  keyAges: CountBucket[];
  /** The first failures and blockers (oldest first); `failuresTotal` counts all of them. */
  failures: EstateFailure[];
  failuresTotal: number;
  /** The newest full verification of the audit chain (scheduled or on request); null if none ran yet. */
  auditVerification: VerifyOutcome | null;
  controls: ControlFinding[];
}
