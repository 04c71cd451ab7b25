import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import type { ClientConfig } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { EVENT_TEXT_COLUMNS, EventTextRow, SEGMENT_SQL } from './audit-chain-walk';
import type { VerifyMode } from './audit-checkpoint.entity';

/** An audit_events row as node-postgres returns it (`SELECT *`). */
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

/** One event to insert, hashed by the caller; before/after as plain JSON (stored as jsonb). */
export interface NewEventRow {
  seq: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

/** Equality and range filters on audit_events, all optional; `afterSeq` is keyset paging. */
export interface EventFilter {
  subjectType?: string;
  subjectId?: string;
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  afterSeq?: string;
}

/** The single audit_chain_head row. */
export interface HeadRow {
  last_seq: string;
  last_hash: string;
  keyed_from: string | null;
  seal: string | null;
}

export interface CheckpointRow {
  seq: string;
  hash: string;
  verified_at: Date;
  mode: VerifyMode;
  seal: string | null;
}

/** A checkpoint beside the hash its event carries now (null: the event is gone). */
export interface CheckpointWithEventRow extends Omit<CheckpointRow, 'mode'> {
  event_hash: string | null;
}

export interface NewCheckpointRow {
  seq: string;
  hash: string;
  verifiedAt: Date;
  mode: VerifyMode;
  eventsChecked: number;
  durationMs: number;
  seal: string;
}

/** An audit_verify_runs row, numbers as text. */
export interface VerifyRunRow {
  id: string;
  trigger: 'request' | 'schedule';
  finished_at: Date;
  ok: boolean;
  events_checked: string;
  tip_seq: string;
  break_seq: string | null;
  problem: string | null;
  message: string | null;
  seal: string;
}

export interface NewVerifyRunRow {
  id: string;
  trigger: 'request' | 'schedule';
  startedAt: Date;
  finishedAt: Date;
  ok: boolean;
  eventsChecked: string;
  tipSeq: string;
  breakSeq: string | null;
  problem: string | null;
  message: string | null;
  seal: string;
}

/** Anything that runs SQL: an EntityManager, or a QueryRunner inside a report's snapshot. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const HEAD_SQL = 'SELECT last_seq, last_hash, keyed_from::text AS keyed_from, seal FROM audit_chain_head WHERE id = 1';

/**
 * The newest full verification's outcome (optionally of one trigger). A function as well as a
 * method: the estate report reads it on its own snapshot's QueryRunner (reports/estate-summary.repository.ts).
 */
export async function selectLastVerifyRun(
  db: Queryable,
  trigger?: 'request' | 'schedule',
): Promise<VerifyRunRow | null> {
  const [row] = (await db.query(
    `SELECT id, trigger, finished_at, ok, events_checked::text AS events_checked, tip_seq::text AS tip_seq,
       break_seq::text AS break_seq, problem, message, seal
     FROM audit_verify_runs ${trigger ? 'WHERE trigger = $1' : ''} ORDER BY finished_at DESC, id DESC LIMIT 1`,
    trigger ? [trigger] : [],
  )) as VerifyRunRow[];
  return row ?? null;
}

/**
 * All SQL on the audit aggregate: `audit_events`, `audit_chain_head`, `audit_checkpoints`,
 * `audit_verify_runs` (and the boot check of the runtime role's rights over them). Every method
 * takes the caller's transaction (`tx`); without one it runs on its own. Appends must pass theirs
 * (the head lock lasts until it ends); a verification passes its REPEATABLE READ snapshot to every
 * read of its walk. Seals and hashes are computed by the services: rows come and go as stored.
 *
 * Raw, parameterised SQL with typed row interfaces rather than TypeORM's query builder: the chain's
 * set-based statements (unnest inserts, the head's FOR UPDATE, keyset walks as ::text, EXISTS
 * checks, ON CONFLICT DO NOTHING RETURNING) read as the SQL they are.
 *
 * The verify worker threads (audit-verify.worker.ts) run SEGMENT_SQL (audit-chain-walk.ts) on pg
 * connections of their own: a thread has no DI container. They get their connection settings here.
 */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: events ──────────────────────────────────────────────────────────────────────────

  /** One statement for the lot, all at the same `occurredAt`. */
  async insertEvents(tx: Tx, occurredAt: Date, events: NewEventRow[]): Promise<void> {
    await tx.query(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash)
       SELECT s, $2, a, act, st, sid, b, af, p, h
       FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[])
         AS t(s, a, act, st, sid, b, af, p, h)`,
      [
        events.map((e) => e.seq),
        occurredAt,
        events.map((e) => e.actor),
        events.map((e) => e.action),
        events.map((e) => e.subjectType),
        events.map((e) => e.subjectId),
        events.map((e) => e.before && JSON.stringify(e.before)),
        events.map((e) => e.after && JSON.stringify(e.after)),
        events.map((e) => e.prevHash),
        events.map((e) => e.hash),
      ],
    );
  }

  /** The events matching `filter`, in seq order, at most `limit`. */
  async listEvents(filter: EventFilter, limit: number, tx?: Tx): Promise<AuditEventRow[]> {
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
    if (filter.afterSeq) add('seq > ?', filter.afterSeq);
    params.push(limit);
    return (await this.tx(tx).query(
      `SELECT * FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq LIMIT $${params.length}`,
      params,
    )) as AuditEventRow[];
  }

  /** Whether any event concerns the subject (a probe sweep exists once its start is audited). */
  async anyEventFor(subjectType: string, subjectId: string, tx?: Tx): Promise<boolean> {
    const rows = (await this.tx(tx).query(
      `SELECT 1 FROM audit_events WHERE subject_type = $1 AND subject_id = $2 LIMIT 1`,
      [subjectType, subjectId],
    )) as unknown[];
    return rows.length > 0;
  }

  /** One event, as text for decodeEvent. */
  async eventText(tx: Tx, seq: string): Promise<EventTextRow | undefined> {
    const [row] = (await tx.query(`SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq = $1`, [
      seq,
    ])) as EventTextRow[];
    return row;
  }

  /** The seq just past the last event before `seq` (1 if there is none). */
  async nextSeqBefore(tx: Tx, seq: string): Promise<string> {
    const [{ next }] = (await tx.query(
      'SELECT (coalesce(max(seq), 0) + 1)::text AS next FROM audit_events WHERE seq < $1',
      [seq],
    )) as { next: string }[];
    return next;
  }

  /** Up to `limit` events after `afterSeq`, as text. */
  async eventsAfter(tx: Tx, afterSeq: string, limit: number): Promise<EventTextRow[]> {
    return (await tx.query(`SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [
      afterSeq,
      limit,
    ])) as EventTextRow[];
  }

  /** The events in (fromSeq, toSeq], as text (the worker threads run the same SEGMENT_SQL). */
  async segment(tx: Tx, fromSeq: string, toSeq: string): Promise<EventTextRow[]> {
    return (await tx.query(SEGMENT_SQL, [fromSeq, toSeq])) as EventTextRow[];
  }

  // ── section: the chain head ──────────────────────────────────────────────────────────────────

  /** The head; `forUpdate` locks it until `tx` ends (appends serialise on it). */
  async head(tx: Tx, options: { forUpdate?: boolean } = {}): Promise<HeadRow> {
    const [row] = (await tx.query(options.forUpdate ? `${HEAD_SQL} FOR UPDATE` : HEAD_SQL)) as HeadRow[];
    return row;
  }

  async writeHead(tx: Tx, head: { seq: string; hash: string; keyedFrom: string; seal: string }): Promise<void> {
    await tx.query(
      'UPDATE audit_chain_head SET last_seq = $1, last_hash = $2, keyed_from = $3, seal = $4 WHERE id = 1',
      [head.seq, head.hash, head.keyedFrom, head.seal],
    );
  }

  /** Whether sealed checkpoints or verification outcomes exist: only where the head was sealed once. */
  async wasSealedBefore(tx: Tx): Promise<boolean> {
    const [{ sealed }] = (await tx.query(
      `SELECT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seal IS NOT NULL)
         OR EXISTS (SELECT 1 FROM audit_verify_runs) AS sealed`,
    )) as { sealed: boolean }[];
    return sealed;
  }

  // ── section: checkpoints ─────────────────────────────────────────────────────────────────────

  async newestSealedCheckpoint(tx: Tx): Promise<CheckpointRow | null> {
    const [row] = (await tx.query(
      'SELECT seq, hash, verified_at, mode, seal FROM audit_checkpoints WHERE seal IS NOT NULL ORDER BY seq DESC LIMIT 1',
    )) as CheckpointRow[];
    return row ?? null;
  }

  /** Up to `limit` checkpoints after `afterSeq`, each beside its event's hash now. */
  async checkpointsAfter(tx: Tx, afterSeq: string, limit: number): Promise<CheckpointWithEventRow[]> {
    return (await tx.query(
      `SELECT c.seq, c.hash, c.verified_at, c.seal, e.hash AS event_hash FROM audit_checkpoints c
       LEFT JOIN audit_events e ON e.seq = c.seq WHERE c.seq > $1 ORDER BY c.seq LIMIT $2`,
      [afterSeq, limit],
    )) as CheckpointWithEventRow[];
  }

  /** False when a checkpoint at that seq exists already (another process recorded it). */
  async insertCheckpoint(c: NewCheckpointRow, tx?: Tx): Promise<boolean> {
    const inserted = (await this.tx(tx).query(
      `INSERT INTO audit_checkpoints (seq, hash, verified_at, mode, events_checked, duration_ms, seal)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [c.seq, c.hash, c.verifiedAt, c.mode, c.eventsChecked, c.durationMs, c.seal],
    )) as unknown[];
    return inserted.length === 1;
  }

  // ── section: verification runs ───────────────────────────────────────────────────────────────

  async insertVerifyRun(r: NewVerifyRunRow, tx?: Tx): Promise<void> {
    await this.tx(tx).query(
      `INSERT INTO audit_verify_runs (id, trigger, started_at, finished_at, ok, events_checked, tip_seq, break_seq, problem, message, seal)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        r.id,
        r.trigger,
        r.startedAt,
        r.finishedAt,
        r.ok,
        r.eventsChecked,
        r.tipSeq,
        r.breakSeq,
        r.problem,
        r.message,
        r.seal,
      ],
    );
  }

  lastVerifyRun(trigger?: 'request' | 'schedule', tx?: Tx): Promise<VerifyRunRow | null> {
    return selectLastVerifyRun(this.tx(tx), trigger);
  }

  /** Whether no scheduled full verification finished in the `hours` before `now`. */
  async scheduledVerifyDue(now: Date, hours: number, tx?: Tx): Promise<boolean> {
    const [{ due }] = (await this.tx(tx).query(
      `SELECT NOT EXISTS (
         SELECT 1 FROM audit_verify_runs WHERE trigger = 'schedule' AND finished_at > $1::timestamptz - make_interval(hours => $2)
       ) AS due`,
      [now, hours],
    )) as { due: boolean }[];
    return due;
  }

  // ── section: snapshots, worker connections, the runtime role ─────────────────────────────────

  /** Exports `tx`'s snapshot for the verify workers (`tx` must stay open while they import it). */
  async exportSnapshot(tx: Tx): Promise<string> {
    const [{ snapshot }] = (await tx.query('SELECT pg_export_snapshot() AS snapshot')) as { snapshot: string }[];
    return snapshot;
  }

  /** The verify workers' own connections: the data source's settings, when they can cross a thread. */
  workerConnection(): ClientConfig | null {
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

  /** Whether the connection's role is a superuser, or a member of audit_events' owner; undefined without the table. */
  async runtimeRole(tx?: Tx): Promise<{ superuser: boolean; owner: boolean } | undefined> {
    const [me] = (await this.tx(tx).query(
      `SELECT r.rolsuper AS superuser, pg_has_role(current_user, t.tableowner, 'USAGE') AS owner
       FROM pg_roles r, pg_tables t WHERE r.rolname = current_user AND t.schemaname = 'public' AND t.tablename = 'audit_events'`,
    )) as { superuser: boolean; owner: boolean }[];
    return me;
  }

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
