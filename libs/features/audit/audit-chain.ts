import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/** The previous-hash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers: everything but the hash itself. */
export interface ChainedFields {
  seq: string;
  occurredAt: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prevHash: string;
}

/** SHA-256 (hex) over the RFC 8785 canonical JSON of the event, its previous hash included. */
export function hashEvent(event: ChainedFields): string {
  const canonical = canonicalize({
    seq: event.seq,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    action: event.action,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    before: event.before,
    after: event.after,
    prevHash: event.prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export type ChainProblem = 'prev_hash_mismatch' | 'hash_mismatch' | 'missing_event' | 'head_mismatch';

export interface ChainBreak {
  seq: string;
  problem: ChainProblem;
  message: string;
}

/**
 * Walks a chain incrementally: feed events in seq order, get the first break. Holding only the
 * previous link, it verifies any number of events in constant memory.
 */
export class ChainVerifier {
  private lastSeq: bigint;
  private lastHash: string;
  checked = 0;

  constructor(fromSeq = 0n, fromHash = GENESIS_HASH) {
    this.lastSeq = fromSeq;
    this.lastHash = fromHash;
  }

  /** Returns the break this event reveals, or null if it links correctly. */
  check(event: ChainedFields & { hash: string }): ChainBreak | null {
    const seq = BigInt(event.seq);
    if (seq !== this.lastSeq + 1n) {
      return {
        seq: String(this.lastSeq + 1n),
        problem: 'missing_event',
        message: `event ${this.lastSeq + 1n} is missing (next present is ${seq})`,
      };
    }
    if (event.prevHash !== this.lastHash) {
      return {
        seq: event.seq,
        problem: 'prev_hash_mismatch',
        message: `event ${seq} does not link to event ${this.lastSeq}`,
      };
    }
    if (hashEvent(event) !== event.hash) {
      return { seq: event.seq, problem: 'hash_mismatch', message: `event ${seq} was altered after it was written` };
    }
    this.lastSeq = seq;
    this.lastHash = event.hash;
    this.checked++;
    return null;
  }

  /** Compares the walked tip with the recorded head, catching events deleted from the end. */
  checkHead(headSeq: string, headHash: string): ChainBreak | null {
    if (BigInt(headSeq) !== this.lastSeq || headHash !== this.lastHash) {
      return {
        seq: String(this.lastSeq + 1n),
        problem: 'head_mismatch',
        message: `the chain ends at event ${this.lastSeq} but its head records event ${headSeq}`,
      };
    }
    return null;
  }

  get tip(): { seq: string; hash: string } {
    return { seq: String(this.lastSeq), hash: this.lastHash };
  }
}
