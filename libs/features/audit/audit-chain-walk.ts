import { types } from 'pg';
import { ChainedFields, ChainHasher, SegmentSummary, SegmentVerifier } from './audit-chain';

/**
 * Reading the chain for verification, shared by the API's thread and the verify workers. Rows come
 * as text (`::text` casts) and are decoded here with node-postgres' own parsers for timestamptz and
 * jsonb, so an event decodes exactly as a plain `SELECT *` would hand it over; decoding ourselves
 * is cheaper than letting the driver do it, and lets a worker thread do it.
 */
export const EVENT_TEXT_COLUMNS = `seq, occurred_at::text AS occurred_at, actor, action, subject_type, subject_id,
  before::text AS before, after::text AS after, prev_hash, hash`;

/** Events in (from, to], in order. Ranges, not keyset pages, so the next one can be asked for before this one arrives. */
export const SEGMENT_SQL = `SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq`;

export interface EventTextRow {
  seq: string;
  occurred_at: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

const parseTimestamptz = types.getTypeParser(1184) as (text: string) => Date;
const parseJsonb = types.getTypeParser(3802) as (text: string) => Record<string, unknown>;

export function decodeEvent(row: EventTextRow): ChainedFields & { hash: string } {
  return {
    seq: row.seq,
    occurredAt: parseTimestamptz(row.occurred_at),
    actor: row.actor,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    before: row.before === null ? null : parseJsonb(row.before),
    after: row.after === null ? null : parseJsonb(row.after),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export type RangeQuery = (fromSeq: string, toSeq: string) => Promise<EventTextRow[]>;

export interface SegmentWalkOptions {
  /** Events per query. */
  batch: number;
  /**
   * Longest stretch of hashing between two yields to the event loop (setImmediate), so requests
   * served by the same thread interleave; Infinity on a worker thread, which serves no one.
   */
  sliceMs: number;
}

/**
 * Verifies the events in (from, to]: always one query ahead (PostgreSQL produces the next batch
 * while this thread hashes the current one), stopping at the first break.
 */
export async function walkSegment(
  query: RangeQuery,
  from: bigint,
  to: bigint,
  options: SegmentWalkOptions,
  hasher: ChainHasher,
): Promise<SegmentSummary> {
  const verifier = new SegmentVerifier(hasher);
  const step = BigInt(options.batch);
  let next = from;
  const ask = (): Promise<EventTextRow[]> | null => {
    if (next >= to) return null;
    const end = next + step < to ? next + step : to;
    const rows = query(String(next), String(end));
    next = end;
    // Rejections surface when awaited; don't let one pending behind a break go unhandled.
    rows.catch(() => undefined);
    return rows;
  };
  let pending = ask();
  let sliceStart = performance.now();
  while (pending) {
    const rows = await pending;
    pending = ask();
    for (let i = 0; i < rows.length; i++) {
      if (!verifier.add(decodeEvent(rows[i]))) return verifier.summary();
      if ((i & 127) === 127 && performance.now() - sliceStart > options.sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }
  return verifier.summary();
}
