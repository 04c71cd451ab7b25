import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, newId } from '@keyshift/common';
import { Transactions, Tx } from '@keyshift/database';
import { ChainBreak, ChainHasher, ChainVerifier } from './audit-chain';
import { decodeEvent, walkSegment } from './audit-chain-walk';
import { VerifyMode } from './audit-checkpoint.entity';
import { AUDIT_KEYS, AuditKeys, checkpointSealFields, headSealFields, seal, sealMatches } from './audit-keys';
import { walkOnWorkers } from './audit-verify-workers';
import { VerifyTrigger, verifyRunRow } from './audit-verify-outcome';
import { AuditRepository, CheckpointRow } from './audit.repository';

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

/** The chain head as read for a walk: what it records, and whether Keyshift's seal vouches for it. */
interface Head {
  seq: string;
  hash: string;
  keyedFrom: string | null;
  /** `sealed`: the seal matches; `unsealed`: never sealed (nothing keyed yet); `forged`: a seal that does not match, or a lost one. */
  status: 'sealed' | 'unsealed' | 'forged';
}

/**
 * Verifies the chain: walks it (from the genesis or the newest sealed checkpoint) on one snapshot,
 * names the first broken link, and lays sealed checkpoints and full walks' outcomes.
 */
@Injectable()
export class AuditVerifyService {
  /** Runs in progress, per mode: concurrent callers share one walk instead of doubling the load. */
  private readonly verifying = new Map<VerifyMode, Promise<VerifyReport>>();
  private readonly tuning: AuditVerifyTuning;

  constructor(
    private readonly repository: AuditRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
    @Optional() @Inject(AUDIT_VERIFY_TUNING) tuning?: Partial<AuditVerifyTuning>,
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
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
    // One snapshot for the checkpoints, the walk and the head, so appends racing the walk don't look like breaks.
    // It only reads: committing it at the end changes nothing.
    const walked = await this.transactions.run(async (tx) => {
      const checkpoint = mode === 'incremental' ? await this.repository.newestSealedCheckpoint(tx) : null;
      return this.walk(tx, mode, checkpoint);
    }, 'REPEATABLE READ');
    const durationMs = Math.round(performance.now() - started);
    const report = { ...walked, durationMs, checkpointRecorded: await this.recordCheckpoint(walked, durationMs) };
    if (mode === 'full') {
      await this.repository.insertVerifyRun(
        verifyRunRow(this.keys.seal, { id: newId(), trigger, startedAt, finishedAt: this.clock.now(), report }),
      );
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
    return this.repository.insertCheckpoint({
      ...checkpoint,
      // How the checkpoint's seq was reached: one walk from the genesis, or from an earlier checkpoint.
      mode: walked.startedFrom ? 'incremental' : 'full',
      eventsChecked: walked.eventsChecked,
      durationMs,
      seal: seal(this.keys.seal, 'audit-checkpoint', checkpointSealFields(checkpoint)),
    });
  }

  private async walk(
    tx: Tx,
    mode: VerifyMode,
    checkpoint: CheckpointRow | null,
  ): Promise<Omit<VerifyReport, 'durationMs' | 'checkpointRecorded'>> {
    const startedFrom: CheckpointView | null = checkpoint && {
      seq: checkpoint.seq,
      hash: checkpoint.hash,
      verifiedAt: checkpoint.verified_at.toISOString(),
      mode: checkpoint.mode,
    };
    const head = await this.readHead(tx);
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
          : await this.checkCheckpointEvent(tx, checkpoint, hasher);
      if (problem) return report(problem);
    }
    const problem =
      (headSeq > from ? await this.walkRange(tx, verifier, hasher, head.keyedFrom, from, headSeq) : null) ??
      (await this.walkPastHead(tx, verifier, headSeq > from ? headSeq : from)) ??
      (await this.checkCheckpoints(tx, verifier.tip, from, head.keyedFrom)) ??
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
  private async readHead(tx: Tx): Promise<Head> {
    const row = await this.repository.head(tx);
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
    tx: Tx,
    checkpoint: CheckpointRow,
    hasher: ChainHasher,
  ): Promise<ChainBreak | null> {
    const fields = checkpointSealFields({ ...checkpoint, verifiedAt: checkpoint.verified_at });
    if (!sealMatches(this.keys.seal, 'audit-checkpoint', fields, checkpoint.seal)) {
      return forgedCheckpoint(checkpoint.seq);
    }
    const row = await this.repository.eventText(tx, checkpoint.seq);
    if (!row) {
      // Cut from the end: name the first event missing before the checkpoint (a full walk names a gap further back).
      const next = await this.repository.nextSeqBefore(tx, checkpoint.seq);
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
    tx: Tx,
    tip: { seq: string },
    after: bigint,
    keyedFrom: string | null,
  ): Promise<ChainBreak | null> {
    const tipSeq = BigInt(tip.seq);
    let afterSeq = String(after);
    for (;;) {
      const rows = await this.repository.checkpointsAfter(tx, afterSeq, this.tuning.batch);
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
    tx: Tx,
    verifier: ChainVerifier,
    hasher: ChainHasher,
    keyedFrom: string | null,
    from: bigint,
    to: bigint,
  ) {
    const { workerScript, workers, minEventsForWorkers, segment, batch, sliceMs } = this.tuning;
    const connection = this.repository.workerConnection();
    if (workerScript && workers > 0 && connection && to - from >= BigInt(minEventsForWorkers)) {
      const snapshot = await this.repository.exportSnapshot(tx);
      return walkOnWorkers(verifier, from, to, {
        script: workerScript,
        workers,
        segment,
        data: { connection, snapshot, batch, chainKey: this.keys.chain, keyedFrom },
      });
    }
    const query = (a: string, b: string) => this.repository.segment(tx, a, b);
    return verifier.join(await walkSegment(query, from, to, { batch, sliceMs }, hasher));
  }

  /** Events past the recorded head (normally none): walked so that they, too, are named. */
  private async walkPastHead(tx: Tx, verifier: ChainVerifier, after: bigint): Promise<ChainBreak | null> {
    let afterSeq = String(after);
    for (;;) {
      const rows = await this.repository.eventsAfter(tx, afterSeq, this.tuning.batch);
      for (const row of rows) {
        const problem = verifier.check(decodeEvent(row));
        if (problem) return problem;
      }
      if (rows.length < this.tuning.batch) return null;
      afterSeq = rows[rows.length - 1].seq;
    }
  }
}

function forgedCheckpoint(seq: string): ChainBreak {
  return {
    seq,
    problem: 'checkpoint_forged',
    message: `the checkpoint at event ${seq} does not carry Keyshift's seal: it was written or altered outside Keyshift`,
  };
}
