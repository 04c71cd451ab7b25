import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, decodeCursor, encodeCursor, MicroBatcher, Page } from '@keyshift/common';
import type { ClientConfig } from 'pg';
import { DataSource, DataSourceOptions, EntityManager, QueryRunner } from 'typeorm';
import { ChainBreak, ChainVerifier, hashEvent } from './audit-chain';
import { decodeEvent, EVENT_TEXT_COLUMNS, EventTextRow, SEGMENT_SQL, walkSegment } from './audit-chain-walk';
import { VerifyMode } from './audit-checkpoint.entity';
import { walkOnWorkers } from './audit-verify-workers';

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

export interface VerifyOptions {
  /** `incremental` (default): from the newest checkpoint; `full`: from the genesis. */
  mode?: VerifyMode;
}

export interface CheckpointView {
  seq: string;
  hash: string;
  verifiedAt: string;
  mode: VerifyMode;
}

export interface VerifyReport {
  ok: boolean;
  mode: VerifyMode;
  /** The first event the walk covered: 1, or the one after the checkpoint it started from. */
  fromSeq: string;
  /** The checkpoint an incremental walk started from; null for a full walk or before the first checkpoint. */
  startedFrom: CheckpointView | null;
  /** Events verified before the first break (the checkpoint's own event not included). */
  eventsChecked: number;
  durationMs: number;
  tip: { seq: string; hash: string };
  firstBreak: ChainBreak | null;
  /** Whether this run recorded a checkpoint at its tip (never after a break, nor when the tip was one already). */
  checkpointRecorded: boolean;
}

/** How verification spreads its work; the defaults suit production, tests pin them. */
export interface AuditVerifyTuning {
  /** The compiled worker (audit-verify.worker.js); null hashes on the calling thread in slices. */
  workerScript: string | null;
  workers: number;
  /** Walks shorter than this stay on the calling thread: starting workers costs about 100 ms. */
  minEventsForWorkers: number;
  /** Events per segment handed to a worker. */
  segment: number;
  /** Events per query. */
  batch: number;
  /** Longest hashing stretch on the calling thread before it yields to other requests. */
  sliceMs: number;
}

export const AUDIT_VERIFY_TUNING = Symbol('AUDIT_VERIFY_TUNING');

/** Beside this file once compiled; absent when running from TypeScript sources (Jest), which then hashes in-thread. */
const WORKER_SCRIPT = join(__dirname, 'audit-verify.worker.js');

const DEFAULT_TUNING: AuditVerifyTuning = {
  workerScript: existsSync(WORKER_SCRIPT) ? WORKER_SCRIPT : null,
  // Measured on 2 cores with PostgreSQL on the same host, 1M events: 2 workers 13-16 s, 3 no faster; in-thread 22-25 s.
  workers: Math.min(4, availableParallelism()),
  minEventsForWorkers: 20_000,
  segment: 50_000,
  batch: 5_000,
  sliceMs: 10,
};

interface CheckpointRow {
  seq: string;
  hash: string;
  verified_at: Date;
  mode: VerifyMode;
}

/** Plain JSON, exactly as jsonb will hand it back, so the hash we write is the hash we re-read. */
function toJson(value: object | null | undefined): Record<string, unknown> | null {
  return value == null ? null : (JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
}

/** An audit_events row as node-postgres returns it. */
export interface AuditEventRow {
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

export function auditEventView(r: AuditEventRow): AuditEventView {
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

  /** Runs in progress, per mode: concurrent callers share one walk instead of doubling the load. */
  private readonly verifying = new Map<VerifyMode, Promise<VerifyReport>>();
  private readonly tuning: AuditVerifyTuning;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Optional() @Inject(AUDIT_VERIFY_TUNING) tuning?: Partial<AuditVerifyTuning>,
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

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
    )) as AuditEventRow[];
    const more = rows.length > filter.limit;
    const items = rows.slice(0, filter.limit).map(auditEventView);
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1].seq) : null };
  }

  /**
   * Recomputes the chain in constant memory and names the first broken link. `full` walks from the
   * genesis; `incremental` from the newest checkpoint, after re-checking the checkpoint's own event
   * (its stored and its recomputed hash must both equal the checkpoint's), so it costs only the
   * events since, but an edit before the checkpoint is only caught by a full walk. A walk that
   * finds no break records a checkpoint at its tip. Concurrent calls for the same mode share one
   * walk (a caller joining late gets the report of a snapshot taken just before its call).
   */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    const mode = options.mode ?? 'incremental';
    const running = this.verifying.get(mode);
    if (running) return running;
    const run = this.runVerify(mode).finally(() => this.verifying.delete(mode));
    this.verifying.set(mode, run);
    return run;
  }

  private async runVerify(mode: VerifyMode): Promise<VerifyReport> {
    const started = performance.now();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let walked: Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>;
    try {
      // One snapshot for the checkpoint, the walk and the head, so appends racing the walk don't look like breaks.
      await runner.startTransaction('REPEATABLE READ');
      const [checkpoint] =
        mode === 'incremental'
          ? ((await runner.query(
              'SELECT seq, hash, verified_at, mode FROM audit_checkpoints ORDER BY seq DESC LIMIT 1',
            )) as CheckpointRow[])
          : [];
      walked = await this.walk(runner, mode, checkpoint ?? null);
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
    const durationMs = Math.round(performance.now() - started);
    return { ...walked, durationMs, checkpointRecorded: await this.recordCheckpoint(walked, durationMs) };
  }

  /** A checkpoint at the tip of an unbroken walk, unless the walk added nothing (or another process recorded it). */
  private async recordCheckpoint(
    walked: Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>,
    durationMs: number,
  ): Promise<boolean> {
    if (!walked.ok || walked.tip.seq === '0' || walked.tip.seq === walked.startedFrom?.seq) return false;
    const inserted = (await this.dataSource.query(
      `INSERT INTO audit_checkpoints (seq, hash, verified_at, mode, events_checked, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [
        walked.tip.seq,
        walked.tip.hash,
        this.clock.now(),
        // How the checkpoint's seq was reached: one walk from the genesis, or from an earlier checkpoint.
        walked.startedFrom ? 'incremental' : 'full',
        walked.eventsChecked,
        durationMs,
      ],
    )) as unknown[];
    return inserted.length === 1;
  }

  private async walk(
    runner: QueryRunner,
    mode: VerifyMode,
    checkpoint: CheckpointRow | null,
  ): Promise<Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>> {
    const startedFrom: CheckpointView | null = checkpoint && {
      seq: checkpoint.seq,
      hash: checkpoint.hash,
      verifiedAt: checkpoint.verified_at.toISOString(),
      mode: checkpoint.mode,
    };
    const from = checkpoint ? BigInt(checkpoint.seq) : 0n;
    const verifier = checkpoint ? new ChainVerifier(from, checkpoint.hash) : new ChainVerifier();
    const report = (firstBreak: ChainBreak | null) => ({
      ok: firstBreak === null,
      mode,
      fromSeq: String(from + 1n),
      startedFrom,
      eventsChecked: verifier.checked,
      tip: verifier.tip,
      firstBreak,
    });
    if (checkpoint) {
      const problem = await this.checkCheckpointEvent(runner, checkpoint);
      if (problem) return report(problem);
    }
    const [head] = (await runner.query('SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1')) as {
      last_seq: string;
      last_hash: string;
    }[];
    const headSeq = BigInt(head.last_seq);
    const problem =
      (headSeq > from ? await this.walkRange(runner, verifier, from, headSeq) : null) ??
      (await this.walkPastHead(runner, verifier, headSeq > from ? headSeq : from)) ??
      verifier.checkHead(head.last_seq, head.last_hash);
    return report(problem);
  }

  /** The checkpoint's event must still carry the checkpoint's hash, and still hash to it. */
  private async checkCheckpointEvent(runner: QueryRunner, checkpoint: CheckpointRow): Promise<ChainBreak | null> {
    const [row] = (await runner.query(`SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq = $1`, [
      checkpoint.seq,
    ])) as EventTextRow[];
    if (!row) {
      return {
        seq: checkpoint.seq,
        problem: 'missing_event',
        message: `event ${checkpoint.seq}, where the last verification ended, is missing`,
      };
    }
    if (hashEvent(decodeEvent(row)) !== row.hash) {
      return {
        seq: checkpoint.seq,
        problem: 'hash_mismatch',
        message: `event ${checkpoint.seq} was altered after it was written`,
      };
    }
    if (row.hash !== checkpoint.hash) {
      return {
        seq: checkpoint.seq,
        problem: 'checkpoint_mismatch',
        message: `event ${checkpoint.seq} no longer carries the hash verified at its checkpoint (rewritten and rehashed)`,
      };
    }
    return null;
  }

  /** (from, to]: on worker threads sharing this snapshot when it is long enough, else here in slices. */
  private async walkRange(runner: QueryRunner, verifier: ChainVerifier, from: bigint, to: bigint) {
    const { workerScript, workers, minEventsForWorkers, segment, batch, sliceMs } = this.tuning;
    const connection = this.workerConnection();
    if (workerScript && workers > 0 && connection && to - from >= BigInt(minEventsForWorkers)) {
      const [{ snapshot }] = (await runner.query('SELECT pg_export_snapshot() AS snapshot')) as { snapshot: string }[];
      return walkOnWorkers(verifier, from, to, {
        script: workerScript,
        workers,
        segment,
        data: { connection, snapshot, batch },
      });
    }
    const query = (a: string, b: string) => runner.query(SEGMENT_SQL, [a, b]) as Promise<EventTextRow[]>;
    return verifier.join(await walkSegment(query, from, to, { batch, sliceMs }));
  }

  /** Events past the recorded head (normally none): walked so that they, too, are named. */
  private async walkPastHead(runner: QueryRunner, verifier: ChainVerifier, after: bigint): Promise<ChainBreak | null> {
    let afterSeq = String(after);
    for (;;) {
      const rows = (await runner.query(
        `SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [afterSeq, this.tuning.batch],
      )) as EventTextRow[];
      for (const row of rows) {
        const problem = verifier.check(decodeEvent(row));
        if (problem) return problem;
      }
      if (rows.length < this.tuning.batch) return null;
      afterSeq = rows[rows.length - 1].seq;
    }
  }

  /** The workers' own connections: the data source's settings, when they can cross a thread. */
  private workerConnection(): ClientConfig | null {
    const o = this.dataSource.options as Extract<DataSourceOptions, { type: 'postgres' }>;
    // A password callback cannot be posted to a thread; another schema would need its search_path.
    if (o.type !== 'postgres' || typeof o.password === 'function' || o.schema) return null;
    const config: ClientConfig = {
      connectionString: o.url,
      host: o.host,
      port: o.port,
      user: o.username,
      password: o.password,
      database: o.database,
      ssl: o.ssl as ClientConfig['ssl'],
      application_name: 'keyshift-audit-verify',
    };
    return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as ClientConfig;
  }
}
