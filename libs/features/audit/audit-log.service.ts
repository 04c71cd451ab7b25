import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, decodeCursor, encodeCursor, MicroBatcher, newId, Page } from '@keyshift/common';
import type { ClientConfig } from 'pg';
import { DataSource, DataSourceOptions, EntityManager, QueryRunner } from 'typeorm';
import { ChainBreak, ChainHasher, ChainVerifier, GENESIS_HASH } from './audit-chain';
import { decodeEvent, EVENT_TEXT_COLUMNS, EventTextRow, SEGMENT_SQL, walkSegment } from './audit-chain-walk';
import { VerifyMode } from './audit-checkpoint.entity';
import { AUDIT_KEYS, AuditKeys, checkpointSealFields, headSealFields, seal, sealMatches } from './audit-keys';
import { walkOnWorkers } from './audit-verify-workers';
import { recordVerifyOutcome, VerifyTrigger } from './audit-verify-outcome';

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
  /** Who asked, recorded with a full walk's outcome (the estate report shows the latest). */
  trigger?: VerifyTrigger;
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
  /**
   * Whether the chain head carries Keyshift's seal. False only on a database whose chain was never
   * extended since the keyed chain arrived (its first append seals the head).
   */
  headSealed: boolean;
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
  seal: string | null;
}

interface HeadRow {
  last_seq: string;
  last_hash: string;
  keyed_from: string | null;
  seal: string | null;
}

/** The chain head as read for a walk: what it records, and whether Keyshift's seal vouches for it. */
interface Head {
  seq: string;
  hash: string;
  keyedFrom: string | null;
  /** `sealed`: the seal matches; `unsealed`: never sealed (nothing keyed yet); `forged`: a seal that does not match, or a lost one. */
  status: 'sealed' | 'unsealed' | 'forged';
}

const HEAD_SQL = 'SELECT last_seq, last_hash, keyed_from::text AS keyed_from, seal FROM audit_chain_head WHERE id = 1';

/** Thrown by an append that finds the chain head altered outside Keyshift: the log refuses to extend a chain it cannot vouch for. */
export class AuditChainTamperedError extends Error {
  constructor(reason: string) {
    super(
      `the audit chain head ${reason}; appends are refused until it is investigated (GET /v1/audit/verify?mode=full)`,
    );
    this.name = 'AuditChainTamperedError';
  }
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
export class AuditLog implements OnApplicationBootstrap {
  /** Events with no state change beside them (secret accesses), appended many per transaction. */
  private readonly batcher = new MicroBatcher<AuditEntry>((entries) => this.record(entries));

  /** Runs in progress, per mode: concurrent callers share one walk instead of doubling the load. */
  private readonly verifying = new Map<VerifyMode, Promise<VerifyReport>>();
  private readonly tuning: AuditVerifyTuning;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
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
    const head = await this.lockHeadForAppend(manager);
    const hasher = new ChainHasher(this.keys.chain, head.keyedFrom);
    let seq = BigInt(head.seq);
    let prevHash = head.hash;
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
      const hash = hasher.hash(event);
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
    await this.writeHead(manager, { seq: String(seq), hash: prevHash, keyedFrom: head.keyedFrom });
  }

  private async writeHead(manager: EntityManager, head: { seq: string; hash: string; keyedFrom: string }) {
    await manager.query(
      'UPDATE audit_chain_head SET last_seq = $1, last_hash = $2, keyed_from = $3, seal = $4 WHERE id = 1',
      [head.seq, head.hash, head.keyedFrom, seal(this.keys.seal, 'audit-head', headSealFields(head))],
    );
  }

  /**
   * Locks the head and checks its seal before extending the chain: extending a head rewritten
   * without the key would seal the rewrite. An unsealed head is extended only when the chain is
   * new (no event, never sealed): that first append seals it. A chain written before keyed
   * chains is adopted at boot instead (adoptUnsealedChain), never by an append.
   */
  private async lockHeadForAppend(manager: EntityManager): Promise<{ seq: string; hash: string; keyedFrom: string }> {
    const [row] = (await manager.query(`${HEAD_SQL} FOR UPDATE`)) as HeadRow[];
    if (row.seal === null) {
      if (row.keyed_from !== null || row.last_seq !== '0' || (await this.wasSealedBefore(manager))) {
        throw new AuditChainTamperedError('is not sealed');
      }
      return { seq: '0', hash: GENESIS_HASH, keyedFrom: '1' };
    }
    const head = { seq: row.last_seq, hash: row.last_hash, keyedFrom: row.keyed_from ?? '' };
    if (!sealMatches(this.keys.seal, 'audit-head', headSealFields(head), row.seal)) {
      throw new AuditChainTamperedError('does not match its seal');
    }
    return head;
  }

  /** Sealed checkpoints or verification outcomes exist only where the head was sealed once. */
  private async wasSealedBefore(manager: EntityManager): Promise<boolean> {
    const [{ sealed }] = (await manager.query(
      `SELECT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seal IS NOT NULL)
         OR EXISTS (SELECT 1 FROM audit_verify_runs) AS sealed`,
    )) as { sealed: boolean }[];
    return sealed;
  }

  onApplicationBootstrap(): Promise<boolean> {
    return this.adoptUnsealedChain();
  }

  /**
   * Brings a chain written before keyed chains under the key, once, at boot: its events keep their
   * unkeyed hashes, the head is sealed with `keyedFrom` just past them, and an `audit.chain_keyed`
   * event, the first keyed one, links to their tip and says how many there were. Nothing happens
   * to a sealed head, nor to one that lost its seal (sealed checkpoints or outcomes exist): that is
   * tampering, which verify names, and adopting would launder it.
   */
  async adoptUnsealedChain(): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = (await manager.query(`${HEAD_SQL} FOR UPDATE`)) as HeadRow[];
      if (row.seal !== null || row.keyed_from !== null || row.last_seq === '0') return false;
      if (await this.wasSealedBefore(manager)) return false;
      const keyedFrom = String(BigInt(row.last_seq) + 1n);
      await this.writeHead(manager, { seq: row.last_seq, hash: row.last_hash, keyedFrom });
      await this.append(manager, [
        {
          actor: 'keyshift',
          action: 'audit.chain_keyed',
          subjectType: 'audit_chain',
          subjectId: 'audit_events',
          after: { unkeyedEvents: row.last_seq, keyedFrom },
        },
      ]);
      return true;
    });
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
   * genesis; `incremental` from the newest sealed checkpoint, after checking the checkpoint's seal
   * and re-hashing its own event (its stored and its recomputed hash must both equal the
   * checkpoint's), so it costs only the events since, but an edit before the checkpoint is only
   * caught by a full walk. Either way the walk must end at the sealed head, and no sealed
   * checkpoint it passes (or that lies beyond it) may disagree with it. A walk that finds no break
   * records a sealed checkpoint at its tip; a full walk also records its outcome. Concurrent calls
   * for the same mode share one walk (a caller joining late gets the report of a snapshot taken
   * just before its call).
   */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    const mode = options.mode ?? 'incremental';
    const running = this.verifying.get(mode);
    if (running) return running;
    const run = this.runVerify(mode, options.trigger ?? 'request').finally(() => this.verifying.delete(mode));
    this.verifying.set(mode, run);
    return run;
  }

  private async runVerify(mode: VerifyMode, trigger: VerifyTrigger): Promise<VerifyReport> {
    const started = performance.now();
    const startedAt = this.clock.now();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let walked: Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>;
    try {
      // One snapshot for the checkpoints, the walk and the head, so appends racing the walk don't look like breaks.
      await runner.startTransaction('REPEATABLE READ');
      const [checkpoint] =
        mode === 'incremental'
          ? ((await runner.query(
              'SELECT seq, hash, verified_at, mode, seal FROM audit_checkpoints WHERE seal IS NOT NULL ORDER BY seq DESC LIMIT 1',
            )) as CheckpointRow[])
          : [];
      walked = await this.walk(runner, mode, checkpoint ?? null);
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
    const durationMs = Math.round(performance.now() - started);
    const report = { ...walked, durationMs, checkpointRecorded: await this.recordCheckpoint(walked, durationMs) };
    if (mode === 'full') {
      await recordVerifyOutcome(this.dataSource, this.keys.seal, {
        id: newId(),
        trigger,
        startedAt,
        finishedAt: this.clock.now(),
        report,
      });
    }
    return report;
  }

  /**
   * A sealed checkpoint at the tip of an unbroken walk, unless the walk added nothing (or another
   * process recorded it). Only a walk that started at the genesis or at a checkpoint whose seal it
   * checked, and that ended at the sealed head, lays one: so a checkpoint never vouches for a
   * stretch nobody walked, whoever asked for the verification.
   */
  private async recordCheckpoint(
    walked: Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>,
    durationMs: number,
  ): Promise<boolean> {
    if (!walked.ok || !walked.headSealed || walked.tip.seq === '0' || walked.tip.seq === walked.startedFrom?.seq) {
      return false;
    }
    const checkpoint = { seq: walked.tip.seq, hash: walked.tip.hash, verifiedAt: this.clock.now() };
    const inserted = (await this.dataSource.query(
      `INSERT INTO audit_checkpoints (seq, hash, verified_at, mode, events_checked, duration_ms, seal)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.verifiedAt,
        // How the checkpoint's seq was reached: one walk from the genesis, or from an earlier checkpoint.
        walked.startedFrom ? 'incremental' : 'full',
        walked.eventsChecked,
        durationMs,
        seal(this.keys.seal, 'audit-checkpoint', checkpointSealFields(checkpoint)),
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
    const head = await this.readHead(runner);
    const from = checkpoint ? BigInt(checkpoint.seq) : 0n;
    const hasher = new ChainHasher(this.keys.chain, head.keyedFrom);
    const verifier = checkpoint ? new ChainVerifier(hasher, from, checkpoint.hash) : new ChainVerifier(hasher);
    const report = (firstBreak: ChainBreak | null) => ({
      ok: firstBreak === null,
      mode,
      fromSeq: String(from + 1n),
      startedFrom,
      eventsChecked: verifier.checked,
      tip: verifier.tip,
      headSealed: head.status === 'sealed',
      firstBreak,
    });
    // No seal on a chain that holds events: any of them may have been rewritten, from the first.
    if (head.status === 'unsealed' && head.seq !== '0') return report(this.headSealProblem(head, '0'));
    const headSeq = BigInt(head.seq);
    if (checkpoint) {
      const problem =
        BigInt(checkpoint.seq) > headSeq
          ? this.checkpointBeyond(checkpoint, head.seq)
          : await this.checkCheckpointEvent(runner, checkpoint, hasher);
      if (problem) return report(problem);
    }
    const problem =
      (headSeq > from ? await this.walkRange(runner, verifier, hasher, head.keyedFrom, from, headSeq) : null) ??
      (await this.walkPastHead(runner, verifier, headSeq > from ? headSeq : from)) ??
      (await this.checkCheckpoints(runner, verifier.tip, from, head.keyedFrom)) ??
      verifier.checkHead(head.seq, head.hash) ??
      this.headSealProblem(head, verifier.tip.seq);
    return report(problem);
  }

  /**
   * A head without a valid seal, once the walk found nothing earlier. A forged seal: events after the
   * walk's tip may have been cut. No seal on a chain that holds events: the head lost it (boot seals
   * every chain), so any event may have been rewritten without the key.
   */
  private headSealProblem(head: Head, tipSeq: string): ChainBreak | null {
    if (head.status === 'forged') {
      return {
        seq: String(BigInt(tipSeq) + 1n),
        problem: 'head_seal_invalid',
        message:
          `the chain head (event ${head.seq}) does not carry Keyshift's seal: it was rewritten, ` +
          `and events after ${tipSeq} may have been cut`,
      };
    }
    if (head.status === 'unsealed' && head.seq !== '0') {
      return {
        seq: '1',
        problem: 'head_seal_invalid',
        message: `the chain head (event ${head.seq}) is not sealed: its seal was removed, so any event may have been rewritten without the key`,
      };
    }
    return null;
  }

  /** The head and whether its seal vouches for it (see Head). */
  private async readHead(runner: QueryRunner): Promise<Head> {
    const [row] = (await runner.query(HEAD_SQL)) as HeadRow[];
    const head = { seq: row.last_seq, hash: row.last_hash, keyedFrom: row.keyed_from };
    if (row.seal === null) return { ...head, status: row.keyed_from === null ? 'unsealed' : 'forged' };
    const fields = headSealFields({ ...head, keyedFrom: head.keyedFrom ?? '' });
    return { ...head, status: sealMatches(this.keys.seal, 'audit-head', fields, row.seal) ? 'sealed' : 'forged' };
  }

  /** A sealed checkpoint past the head: the head was moved back over events cut from the end. */
  private checkpointBeyond(checkpoint: CheckpointRow, headSeq: string): ChainBreak {
    const fields = checkpointSealFields({ ...checkpoint, verifiedAt: checkpoint.verified_at });
    if (!sealMatches(this.keys.seal, 'audit-checkpoint', fields, checkpoint.seal))
      return forgedCheckpoint(checkpoint.seq);
    return {
      seq: String(BigInt(headSeq) + 1n),
      problem: 'checkpoint_beyond_chain',
      message: `the chain head records event ${headSeq} but a sealed checkpoint vouches for event ${checkpoint.seq}: events were cut from its end`,
    };
  }

  /** The checkpoint must carry Keyshift's seal; its event must still carry the checkpoint's hash, and still hash to it. */
  private async checkCheckpointEvent(
    runner: QueryRunner,
    checkpoint: CheckpointRow,
    hasher: ChainHasher,
  ): Promise<ChainBreak | null> {
    const fields = checkpointSealFields({ ...checkpoint, verifiedAt: checkpoint.verified_at });
    if (!sealMatches(this.keys.seal, 'audit-checkpoint', fields, checkpoint.seal)) {
      return forgedCheckpoint(checkpoint.seq);
    }
    const [row] = (await runner.query(`SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq = $1`, [
      checkpoint.seq,
    ])) as EventTextRow[];
    if (!row) {
      // Cut from the end: name the first event missing before the checkpoint (a full walk names a gap further back).
      const [{ next }] = (await runner.query(
        'SELECT (coalesce(max(seq), 0) + 1)::text AS next FROM audit_events WHERE seq < $1',
        [checkpoint.seq],
      )) as { next: string }[];
      return {
        seq: next,
        problem: 'checkpoint_beyond_chain',
        message: `event ${checkpoint.seq}, where the last verification ended, is missing: the chain was cut after event ${BigInt(next) - 1n}`,
      };
    }
    if (hasher.hash(decodeEvent(row)) !== row.hash) {
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

  /**
   * The checkpoints after `after`, against the chain just walked to `tip`: each must carry Keyshift's
   * seal (checkpoints from before keyed chains excepted: they were never sealed), name an event the
   * walk reached and carry that event's hash. A sealed checkpoint beyond the tip is the signed
   * promise that the chain once went further: events were cut from its end.
   */
  private async checkCheckpoints(
    runner: QueryRunner,
    tip: { seq: string },
    after: bigint,
    keyedFrom: string | null,
  ): Promise<ChainBreak | null> {
    const tipSeq = BigInt(tip.seq);
    let afterSeq = String(after);
    for (;;) {
      const rows = (await runner.query(
        `SELECT c.seq, c.hash, c.verified_at, c.seal, e.hash AS event_hash FROM audit_checkpoints c
         LEFT JOIN audit_events e ON e.seq = c.seq WHERE c.seq > $1 ORDER BY c.seq LIMIT $2`,
        [afterSeq, this.tuning.batch],
      )) as (CheckpointRow & { event_hash: string | null })[];
      for (const c of rows) {
        const legacy = c.seal === null && (keyedFrom === null || BigInt(c.seq) < BigInt(keyedFrom));
        const fields = checkpointSealFields({ ...c, verifiedAt: c.verified_at });
        if (!legacy && !sealMatches(this.keys.seal, 'audit-checkpoint', fields, c.seal)) return forgedCheckpoint(c.seq);
        if (BigInt(c.seq) > tipSeq) {
          if (legacy) continue;
          return {
            seq: String(tipSeq + 1n),
            problem: 'checkpoint_beyond_chain',
            message: `the chain ends at event ${tipSeq} but a sealed checkpoint vouches for event ${c.seq}: events were cut from its end`,
          };
        }
        if (c.event_hash !== c.hash) {
          return {
            seq: c.seq,
            problem: 'checkpoint_mismatch',
            message: `event ${c.seq} no longer carries the hash verified at its checkpoint`,
          };
        }
      }
      if (rows.length < this.tuning.batch) return null;
      afterSeq = rows[rows.length - 1].seq;
    }
  }

  /** (from, to]: on worker threads sharing this snapshot when it is long enough, else here in slices. */
  private async walkRange(
    runner: QueryRunner,
    verifier: ChainVerifier,
    hasher: ChainHasher,
    keyedFrom: string | null,
    from: bigint,
    to: bigint,
  ) {
    const { workerScript, workers, minEventsForWorkers, segment, batch, sliceMs } = this.tuning;
    const connection = this.workerConnection();
    if (workerScript && workers > 0 && connection && to - from >= BigInt(minEventsForWorkers)) {
      const [{ snapshot }] = (await runner.query('SELECT pg_export_snapshot() AS snapshot')) as { snapshot: string }[];
      return walkOnWorkers(verifier, from, to, {
        script: workerScript,
        workers,
        segment,
        data: { connection, snapshot, batch, chainKey: this.keys.chain, keyedFrom },
      });
    }
    const query = (a: string, b: string) => runner.query(SEGMENT_SQL, [a, b]) as Promise<EventTextRow[]>;
    return verifier.join(await walkSegment(query, from, to, { batch, sliceMs }, hasher));
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

function forgedCheckpoint(seq: string): ChainBreak {
  return {
    seq,
    problem: 'checkpoint_forged',
    message: `the checkpoint at event ${seq} does not carry Keyshift's seal: it was written or altered outside Keyshift`,
  };
}
