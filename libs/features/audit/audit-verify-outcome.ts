import { DataSource } from 'typeorm';
import type { ChainProblem } from './audit-chain';
import { seal, sealMatches } from './audit-keys';

/** Who asked for a full verification: an API caller, or the worker's schedule. */
export type VerifyTrigger = 'request' | 'schedule';

/** Anything that runs SQL: a QueryRunner inside a report's snapshot, or the data source. */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** The latest full verification, as the estate report states it. */
export interface VerifyOutcome {
  at: string;
  trigger: VerifyTrigger;
  ok: boolean;
  eventsChecked: number;
  tipSeq: string;
  firstBreak: { seq: string; problem: ChainProblem; message: string } | null;
  /** False when the stored outcome does not carry Keyshift's seal (written outside Keyshift): do not trust it. */
  sealed: boolean;
}

interface OutcomeFields {
  id: string;
  trigger: VerifyTrigger;
  finishedAt: Date;
  ok: boolean;
  eventsChecked: string;
  tipSeq: string;
  breakSeq: string | null;
  problem: string | null;
  message: string | null;
}

const fieldsOf = (o: OutcomeFields) => [
  o.id,
  o.trigger,
  o.finishedAt.toISOString(),
  String(o.ok),
  o.eventsChecked,
  o.tipSeq,
  o.breakSeq ?? '',
  o.problem ?? '',
  o.message ?? '',
];

/** Stores a full verification's outcome, sealed, so a forged "ok" cannot pass for one. */
export async function recordVerifyOutcome(
  dataSource: DataSource,
  sealKey: Buffer,
  run: {
    id: string;
    trigger: VerifyTrigger;
    startedAt: Date;
    finishedAt: Date;
    report: {
      ok: boolean;
      eventsChecked: number;
      tip: { seq: string };
      firstBreak: { seq: string; problem: string; message: string } | null;
    };
  },
): Promise<void> {
  const o: OutcomeFields = {
    id: run.id,
    trigger: run.trigger,
    finishedAt: run.finishedAt,
    ok: run.report.ok,
    eventsChecked: String(run.report.eventsChecked),
    tipSeq: run.report.tip.seq,
    breakSeq: run.report.firstBreak?.seq ?? null,
    problem: run.report.firstBreak?.problem ?? null,
    message: run.report.firstBreak?.message ?? null,
  };
  await dataSource.query(
    `INSERT INTO audit_verify_runs (id, trigger, started_at, finished_at, ok, events_checked, tip_seq, break_seq, problem, message, seal)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      o.id,
      o.trigger,
      run.startedAt,
      o.finishedAt,
      o.ok,
      o.eventsChecked,
      o.tipSeq,
      o.breakSeq,
      o.problem,
      o.message,
      seal(sealKey, 'audit-verify-run', fieldsOf(o)),
    ],
  );
}

/** The newest full verification's outcome (optionally only the scheduled ones), or null if none ran yet. */
export async function lastVerifyOutcome(
  db: Queryable,
  sealKey: Buffer,
  trigger?: VerifyTrigger,
): Promise<VerifyOutcome | null> {
  const [row] = (await db.query(
    `SELECT id, trigger, finished_at, ok, events_checked::text AS events_checked, tip_seq::text AS tip_seq,
       break_seq::text AS break_seq, problem, message, seal
     FROM audit_verify_runs ${trigger ? 'WHERE trigger = $1' : ''} ORDER BY finished_at DESC, id DESC LIMIT 1`,
    trigger ? [trigger] : [],
  )) as {
    id: string;
    trigger: VerifyTrigger;
    finished_at: Date;
    ok: boolean;
    events_checked: string;
    tip_seq: string;
    break_seq: string | null;
    problem: string | null;
    message: string | null;
    seal: string;
  }[];
  if (!row) return null;
  const fields: OutcomeFields = {
    id: row.id,
    trigger: row.trigger,
    finishedAt: row.finished_at,
    ok: row.ok,
    eventsChecked: row.events_checked,
    tipSeq: row.tip_seq,
    breakSeq: row.break_seq,
    problem: row.problem,
    message: row.message,
  };
  return {
    at: row.finished_at.toISOString(),
    trigger: row.trigger,
    ok: row.ok,
    eventsChecked: Number(row.events_checked),
    tipSeq: row.tip_seq,
    firstBreak:
      row.break_seq === null
        ? null
        : { seq: row.break_seq, problem: row.problem as ChainProblem, message: row.message ?? '' },
    sealed: sealMatches(sealKey, 'audit-verify-run', fieldsOf(fields), row.seal),
  };
}
