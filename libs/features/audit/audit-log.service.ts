import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, decodeCursor, encodeCursor, MicroBatcher, Page } from '@keyshift/common';
import { DataSource, EntityManager } from 'typeorm';
import { ChainBreak, ChainVerifier, hashEvent } from './audit-chain';

/** What a caller records; the log adds seq, time and the chain hashes. */
export interface AuditEntry {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  /** Summaries without secrets: the API's view of the subject, never ciphertexts or tokens. */
  before?: object | null;
  after?: object | null;
}

export interface AuditEventView {
  seq: string;
  occurredAt: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  subjectType?: string;
  subjectId?: string;
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  /** The nextCursor of the previous page. */
  cursor?: string;
  limit: number;
}

export interface VerifyReport {
  ok: boolean;
  eventsChecked: number;
  tip: { seq: string; hash: string };
  firstBreak: ChainBreak | null;
}

const VERIFY_BATCH = 10_000;

/** Plain JSON, exactly as jsonb will hand it back, so the hash we write is the hash we re-read. */
function toJson(value: object | null | undefined): Record<string, unknown> | null {
  return value == null ? null : (JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
}

interface EventRow {
  seq: string;
  occurred_at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

function toView(r: EventRow): AuditEventView {
  return {
    seq: r.seq,
    occurredAt: r.occurred_at.toISOString(),
    actor: r.actor,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    before: r.before,
    after: r.after,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

@Injectable()
export class AuditLog {
  /** Events with no state change beside them (secret accesses), appended many per transaction. */
  private readonly batcher = new MicroBatcher<AuditEntry>((entries) => this.record(entries));

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one event that has no state change to share a transaction with, resolving once it is
   * committed. Concurrent callers share a transaction, so a hot path (every probe's secret access)
   * costs one chain-head lock per batch, not per event.
   */
  recordSoon(entry: AuditEntry): Promise<void> {
    return this.batcher.add(entry);
  }

  /**
   * Appends events inside the caller's transaction. Locking the chain head serialises appends
   * until that transaction ends, so callers append last, just before commit.
   */
  async append(manager: EntityManager, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (!manager.queryRunner?.isTransactionActive) throw new Error('AuditLog.append needs an open transaction');
    const [head] = (await manager.query(
      'SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE',
    )) as { last_seq: string; last_hash: string }[];
    let seq = BigInt(head.last_seq);
    let prevHash = head.last_hash;
    const occurredAt = this.clock.now();
    const cols = {
      seq: [] as string[],
      before: [] as (string | null)[],
      after: [] as (string | null)[],
      prev: [] as string[],
      hash: [] as string[],
    };
    for (const entry of entries) {
      seq += 1n;
      const event = {
        seq: String(seq),
        occurredAt,
        actor: entry.actor,
        action: entry.action,
        subjectType: entry.subjectType,
        subjectId: entry.subjectId,
        before: toJson(entry.before),
        after: toJson(entry.after),
        prevHash,
      };
      const hash = hashEvent(event);
      cols.seq.push(event.seq);
      cols.before.push(event.before && JSON.stringify(event.before));
      cols.after.push(event.after && JSON.stringify(event.after));
      cols.prev.push(prevHash);
      cols.hash.push(hash);
      prevHash = hash;
    }
    await manager.query(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash)
       SELECT s, $2, a, act, st, sid, b, af, p, h
       FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[])
         AS t(s, a, act, st, sid, b, af, p, h)`,
      [
        cols.seq,
        occurredAt,
        entries.map((e) => e.actor),
        entries.map((e) => e.action),
        entries.map((e) => e.subjectType),
        entries.map((e) => e.subjectId),
        cols.before,
        cols.after,
        cols.prev,
        cols.hash,
      ],
    );
    await manager.query('UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1', [
      String(seq),
      prevHash,
    ]);
  }

  /** Appends in a transaction of its own, for events with no state change beside them. */
  async record(entries: AuditEntry[]): Promise<void> {
    await this.dataSource.transaction((manager) => this.append(manager, entries));
  }

  async list(filter: AuditFilter): Promise<Page<AuditEventView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.subjectType) add('subject_type = ?', filter.subjectType);
    if (filter.subjectId) add('subject_id = ?', filter.subjectId);
    if (filter.action) add('action = ?', filter.action);
    if (filter.actor) add('actor = ?', filter.actor);
    if (filter.since) add('occurred_at >= ?', filter.since);
    if (filter.until) add('occurred_at < ?', filter.until);
    if (filter.cursor)
      add(
        'seq > ?',
        decodeCursor(filter.cursor, (k) => /^\d+$/.test(k)),
      );
    params.push(filter.limit + 1);
    const rows = (await this.dataSource.query(
      `SELECT * FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq LIMIT $${params.length}`,
      params,
    )) as EventRow[];
    const more = rows.length > filter.limit;
    const items = rows.slice(0, filter.limit).map(toView);
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1].seq) : null };
  }

  /** Recomputes the whole chain from the genesis, in constant memory, and names the first broken link. */
  async verify(): Promise<VerifyReport> {
    const verifier = new ChainVerifier();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // One snapshot for the walk and the head, so appends racing the walk don't look like breaks.
      await runner.startTransaction('REPEATABLE READ');
      let afterSeq = '0';
      for (;;) {
        const rows = (await runner.query('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [
          afterSeq,
          VERIFY_BATCH,
        ])) as EventRow[];
        for (const r of rows) {
          const problem = verifier.check({
            seq: r.seq,
            occurredAt: r.occurred_at,
            actor: r.actor,
            action: r.action,
            subjectType: r.subject_type,
            subjectId: r.subject_id,
            before: r.before,
            after: r.after,
            prevHash: r.prev_hash,
            hash: r.hash,
          });
          if (problem) return { ok: false, eventsChecked: verifier.checked, tip: verifier.tip, firstBreak: problem };
        }
        if (rows.length < VERIFY_BATCH) break;
        afterSeq = rows[rows.length - 1].seq;
      }
      const [head] = (await runner.query('SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1')) as {
        last_seq: string;
        last_hash: string;
      }[];
      const problem = verifier.checkHead(head.last_seq, head.last_hash);
      return { ok: problem === null, eventsChecked: verifier.checked, tip: verifier.tip, firstBreak: problem };
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }
}
