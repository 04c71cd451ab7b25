import { createHmac, hash } from 'node:crypto';
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

/**
 * Members' quoted names (`"key":`), by name. Audit payloads use a few dozen names over and over;
 * the cap keeps hostile data from growing it.
 */
const quotedKeys = new Map<string, string>();
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key) + ':';
    if (quotedKeys.size < 4096) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * RFC 8785 canonical JSON, exactly as json-canonicalize's `canonicalize` writes it (the chain's
 * hashes were written with it), at about twice its speed on audit payloads: no path strings, no
 * visited-map, no closures, cached member names. Plain JSON data (strings, finite numbers,
 * booleans, null, dense arrays, objects without `toJSON`) is written here; anything else is handed
 * to `canonicalize` itself, so its quirks (toJSON, holes, non-finite numbers, undefined at the
 * top) stay byte for byte.
 *
 * Kept, beside the package, because the full verification needs it: bench/canonicalize.bench.ts
 * (the reports bench's event mix, 781 bytes each) measured 74.7k to 99.3k events/s here against
 * json-canonicalize's 45.3k to 47.3k (1.58x to 2.19x), i.e. 7.8 to 12 s more CPU per 1M events,
 * 3.9 to 6 s of wall time on the two verify workers: the 1M-event full verify (15.6 to 18.5 s)
 * would miss its < 20 s target. test/unit/audit-chain.spec.ts checks (fast-check) that both
 * write the same bytes.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object' || (value as { toJSON?: unknown }).toJSON != null) {
    // Number#toString is what JSON.stringify (and so canonicalize) writes for a finite number, -0 as 0.
    if (typeof value === 'number' && Number.isFinite(value)) return '' + value;
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (value === null) return 'null';
    return canonicalize(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const element: unknown = value[i];
      if (element !== undefined) out += canonicalJson(element);
      else if (i in value) out += 'null';
      else return canonicalize(value); // a hole, which canonicalize's forEach skips
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  // Default sort: by UTF-16 code units, as RFC 8785 §3.2.3 asks.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += quotedKey(key);
    out += canonicalJson(member);
  }
  return out + '}';
}

/** The event's members in RFC 8785 order (fixed: only `before` and `after` vary in shape). */
const EVENT_MEMBERS = [
  'action',
  'actor',
  'after',
  'before',
  'occurredAt',
  'prevHash',
  'seq',
  'subjectId',
  'subjectType',
] as const;

/** The canonical JSON the hash is taken over: the event, its previous hash included. */
export function canonicalEventJson(event: ChainedFields): string {
  const { action, actor, after, before, prevHash, seq, subjectId, subjectType } = event;
  const occurredAt = event.occurredAt.toISOString();
  if (
    typeof action === 'string' &&
    typeof actor === 'string' &&
    typeof prevHash === 'string' &&
    typeof seq === 'string' &&
    typeof subjectId === 'string' &&
    typeof subjectType === 'string' &&
    after !== undefined &&
    before !== undefined
  ) {
    return (
      `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"after":${canonicalJson(after)},` +
      `"before":${canonicalJson(before)},"occurredAt":${JSON.stringify(occurredAt)},"prevHash":${JSON.stringify(prevHash)},` +
      `"seq":${JSON.stringify(seq)},"subjectId":${JSON.stringify(subjectId)},"subjectType":${JSON.stringify(subjectType)}}`
    );
  }
  // Off the typed path (a member missing or not a string): member by member, as canonicalize would.
  const values: Record<(typeof EVENT_MEMBERS)[number], unknown> = { ...event, occurredAt };
  let out = '{';
  for (const key of EVENT_MEMBERS) {
    if (values[key] === undefined) continue;
    out += (out.length === 1 ? '' : ',') + quotedKey(key) + canonicalJson(values[key]);
  }
  return out + '}';
}

/**
 * The unkeyed hash of events written before the keyed chain began: SHA-256 (hex) over the RFC 8785
 * canonical JSON of the event, its previous hash included. Anyone can recompute it, so it only
 * stands because the first keyed event links to it.
 */
export function hashEvent(event: ChainedFields): string {
  return hash('sha256', canonicalEventJson(event), 'hex');
}

/** The keyed hash: HMAC-SHA-256 (hex) with the chain key over the same canonical JSON. */
export function keyedHashEvent(key: Uint8Array, event: ChainedFields): string {
  return createHmac('sha256', key).update(canonicalEventJson(event)).digest('hex');
}

/**
 * Which hash an event carries, by its seq: unkeyed before `keyedFrom` (events of a database written
 * before the upgrade), keyed from it on. `keyedFrom` comes from the sealed chain head, so it cannot
 * be moved to pass keyed events off as unkeyed ones; null means nothing was keyed yet.
 */
export class ChainHasher {
  private readonly keyedFrom: bigint | null;

  constructor(
    private readonly key: Uint8Array,
    keyedFrom: string | bigint | null,
  ) {
    this.keyedFrom = keyedFrom === null ? null : BigInt(keyedFrom);
  }

  hash(event: ChainedFields): string {
    return this.keyedFrom !== null && BigInt(event.seq) >= this.keyedFrom
      ? keyedHashEvent(this.key, event)
      : hashEvent(event);
  }
}

export type ChainProblem =
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'missing_event'
  | 'head_mismatch'
  /** The event a checkpoint names no longer carries the hash the checkpoint recorded. */
  | 'checkpoint_mismatch'
  /** The chain head's seal does not match it (rewritten without the key), or it lost its seal. */
  | 'head_seal_invalid'
  /** A checkpoint whose seal does not match it: written or altered without the key. */
  | 'checkpoint_forged'
  /** The chain ends before a sealed checkpoint: events were cut from the end. */
  | 'checkpoint_beyond_chain';

export interface ChainBreak {
  seq: string;
  problem: ChainProblem;
  message: string;
}

/**
 * What a verifier that walked one run of consecutive events found. The run's first event is
 * trusted to link to whatever precedes it; `ChainVerifier.join` checks that link.
 */
export interface SegmentSummary {
  /** Events that linked and hashed correctly, before the first break. */
  checked: number;
  first: { seq: string; prevHash: string } | null;
  last: { seq: string; hash: string } | null;
  firstBreak: ChainBreak | null;
}

/**
 * Walks a chain incrementally: feed events in seq order, get the first break. Holding only the
 * previous link, it verifies any number of events in constant memory.
 */
export class ChainVerifier {
  private lastSeq: bigint;
  private lastHash: string;
  checked = 0;

  constructor(
    private readonly hasher: ChainHasher,
    fromSeq = 0n,
    fromHash = GENESIS_HASH,
  ) {
    this.lastSeq = fromSeq;
    this.lastHash = fromHash;
  }

  /** Returns the break this event reveals, or null if it links correctly. */
  check(event: ChainedFields & { hash: string }): ChainBreak | null {
    const seq = BigInt(event.seq);
    const link = this.checkLink(seq, event.seq, event.prevHash);
    if (link) return link;
    if (this.hasher.hash(event) !== event.hash) {
      return { seq: event.seq, problem: 'hash_mismatch', message: `event ${seq} was altered after it was written` };
    }
    this.lastSeq = seq;
    this.lastHash = event.hash;
    this.checked++;
    return null;
  }

  /**
   * Appends a run verified elsewhere (another thread, another connection on the same snapshot):
   * checks the link into its first event, then takes over its count and tip or its first break.
   * Joining the runs of a chain in order gives what `check` over every event would.
   */
  join(segment: SegmentSummary): ChainBreak | null {
    if (segment.first) {
      const link = this.checkLink(BigInt(segment.first.seq), segment.first.seq, segment.first.prevHash);
      if (link) return link;
    }
    this.checked += segment.checked;
    // The tip is the last event that verified, whether or not a break follows it.
    if (segment.last) {
      this.lastSeq = BigInt(segment.last.seq);
      this.lastHash = segment.last.hash;
    }
    return segment.firstBreak;
  }

  private checkLink(seq: bigint, seqText: string, prevHash: string): ChainBreak | null {
    if (seq !== this.lastSeq + 1n) {
      return {
        seq: String(this.lastSeq + 1n),
        problem: 'missing_event',
        message: `event ${this.lastSeq + 1n} is missing (next present is ${seq})`,
      };
    }
    if (prevHash !== this.lastHash) {
      return {
        seq: seqText,
        problem: 'prev_hash_mismatch',
        message: `event ${seq} does not link to event ${this.lastSeq}`,
      };
    }
    return null;
  }

  /** Compares the walked tip with the recorded head, catching events deleted from the end. */
  checkHead(headSeq: string, headHash: string): ChainBreak | null {
    if (BigInt(headSeq) !== this.lastSeq || headHash !== this.lastHash) {
      return {
        seq: String(this.lastSeq + 1n),
        problem: 'head_mismatch',
        message: `the chain ends at event ${this.lastSeq} but its sealed head records event ${headSeq}`,
      };
    }
    return null;
  }

  get tip(): { seq: string; hash: string } {
    return { seq: String(this.lastSeq), hash: this.lastHash };
  }
}

/**
 * Verifies one run of consecutive events whose first event's link is checked later, at the join:
 * it starts from that event's own claim about its predecessor.
 */
export class SegmentVerifier {
  constructor(private readonly hasher: ChainHasher) {}

  private verifier: ChainVerifier | null = null;
  private first: SegmentSummary['first'] = null;
  private broken: ChainBreak | null = null;

  /** False once the segment is broken: later events cannot change its summary. */
  add(event: ChainedFields & { hash: string }): boolean {
    if (this.broken) return false;
    if (!this.verifier) {
      this.first = { seq: event.seq, prevHash: event.prevHash };
      this.verifier = new ChainVerifier(this.hasher, BigInt(event.seq) - 1n, event.prevHash);
    }
    this.broken = this.verifier.check(event);
    return this.broken === null;
  }

  summary(): SegmentSummary {
    const v = this.verifier;
    return {
      checked: v?.checked ?? 0,
      first: this.first,
      last: v && v.checked > 0 ? v.tip : null,
      firstBreak: this.broken,
    };
  }
}
