import type { ChainProblem } from './audit-chain';
import { seal, sealMatches } from './audit-keys';
import { NewVerifyRunRow, Queryable, selectLastVerifyRun, VerifyRunRow } from './audit.repository';

/** Who asked for a full verification: an API caller, or the worker's schedule. */
export type VerifyTrigger = 'request' | 'schedule';

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

/** A full verification's outcome as the row that stores it, sealed, so a forged "ok" cannot pass for one. */
export function verifyRunRow(
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
): NewVerifyRunRow {
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
  return { ...o, startedAt: run.startedAt, seal: seal(sealKey, 'audit-verify-run', fieldsOf(o)) };
}

/** A stored outcome as the estate report states it, its seal checked. */
export function verifyOutcome(row: VerifyRunRow, sealKey: Buffer): VerifyOutcome {
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

/**
 * The newest full verification's outcome (optionally only the scheduled ones), or null if none ran
 * yet, read on `db` (the estate report passes its snapshot's QueryRunner).
 */
export async function lastVerifyOutcome(
  db: Queryable,
  sealKey: Buffer,
  trigger?: VerifyTrigger,
): Promise<VerifyOutcome | null> {
  const row = await selectLastVerifyRun(db, trigger);
  return row && verifyOutcome(row, sealKey);
}
