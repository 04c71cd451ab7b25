import { Effect, Phase, PhaseEvent, PhaseState } from '@keyshift/domain';

/**
 * The phase machine's expected behaviour, written out by hand from the rules in
 * docs and phase-machine.ts's comments, NOT computed from the machine: for every event, what
 * each phase × state × paused does. phase-machine.spec.ts runs `decide` on every cell and
 * compares.
 *
 * The client in every cell (see `tableClient` in the spec): attempts 2, reason 'earlier note',
 * senderConstraint 'dpop', cutover 'confirm'. In `cutover` the cutover is already confirmed; the
 * extra row `cutover_unconfirmed` is the cutover phase before an operator confirmed it.
 *
 * A row lists one cell per state, in the order of COLUMNS. A cell is
 *   -      refused: transition_not_allowed
 *   G      refused: gate_not_met
 *   P R W B F D   accepted: same phase, next state pending/running/waiting/blocked/failed/done
 *   +P +D  accepted: the next phase, in state pending (done when the next phase is completed)
 *   -P     accepted: the previous phase, pending
 *   retry  accepted: the phase starts over (pending, attempts reset, reason cleared)
 * Rows in `completed` other than `done` are states a client never reaches there; the machine
 * judges them by the same state rules as any other phase, and the table says so.
 */
export const COLUMNS = [
  PhaseState.Pending,
  PhaseState.Running,
  PhaseState.Waiting,
  PhaseState.Blocked,
  PhaseState.Failed,
  PhaseState.Done,
] as const;

export type PhaseKey = Phase | 'cutover_unconfirmed';

export const PHASE_KEYS: readonly PhaseKey[] = [
  Phase.VendorCheck,
  Phase.KeyRegistration,
  Phase.ParallelAuth,
  Phase.Cutover,
  'cutover_unconfirmed',
  Phase.SecretRevocation,
  Phase.SenderConstraint,
  Phase.Completed,
];

/** What an accepted event sets besides phase and state. */
export interface Then {
  attempts: 'kept' | 'plus one' | 'reset';
  /** 'kept': the client's earlier reason; 'event': the event's reason; a RegExp: a reason of the machine's own. */
  reason: 'cleared' | 'kept' | 'event' | RegExp;
  /**
   * When the reconciler looks again: 'now', 'event' (the event's retryAt / recheckAt) or 'never'.
   * Whatever this says, a paused client and one running, blocked or failed is never due (null).
   */
  checkAt: 'now' | 'event' | 'never';
  paused: 'kept' | boolean;
  /** 'run_phase' / 'revert_at_server' stand for those effects on the client's phase. */
  effects: Effect[] | 'run_phase' | 'revert_at_server';
  cutoverConfirmedAt: 'kept' | 'now' | 'cleared';
  phaseEnteredAt: 'kept' | 'now';
}

export interface Rows {
  unpaused: string;
  paused: string;
  then?: Partial<Then>;
}

export interface EventRule extends Rows {
  name: string;
  event: PhaseEvent;
  then: Then;
  /** Phases whose rows (and, optionally, outcome fields) differ from the default rows. */
  phases?: Partial<Record<PhaseKey, Rows>>;
}

const NOW = new Date('2026-11-23T12:00:00Z');
export const TABLE_NOW = NOW;

const NONE = '-  -  -  -  -  -';
const refusedEverywhere = { unpaused: NONE, paused: NONE };
const runningOnly = (cell: string) => ({ unpaused: `-  ${cell}  -  -  -  -`, paused: `-  ${cell}  -  -  -  -` });

/** Worker outcomes: carried over unchanged fields unless said otherwise. */
const WORKER: Then = {
  attempts: 'kept',
  reason: 'event',
  checkAt: 'never',
  paused: 'kept',
  effects: [],
  cutoverConfirmedAt: 'kept',
  phaseEnteredAt: 'kept',
};

/** Evidence satisfying a gate: done, due now for the advance, attempts and confirmation carried. */
const EVIDENCE_DONE: Then = { ...WORKER, reason: 'cleared', checkAt: 'now' };

/** Entering another phase (advance, rollback): a fresh phase, its round count and confirmation cleared. */
const ENTER: Then = {
  attempts: 'reset',
  reason: 'cleared',
  checkAt: 'now',
  paused: 'kept',
  effects: [],
  cutoverConfirmedAt: 'cleared',
  phaseEnteredAt: 'now',
};

export const TABLE: EventRule[] = [
  {
    // A worker starts a due phase: pending, or waiting (a soak round, a retry, a recheck).
    name: 'start',
    event: { type: 'start' },
    unpaused: 'R  -  R  -  -  -',
    paused: NONE,
    then: { ...WORKER, attempts: 'plus one', reason: 'cleared', effects: 'run_phase' },
    phases: { [Phase.Completed]: refusedEverywhere },
  },
  // Evidence: only while running, only of the kind the phase's gate reads; paused or not (no evidence is lost).
  {
    name: 'evidence vendor_support',
    event: { type: 'evidence', evidence: { kind: 'vendor_support', supported: true } },
    ...refusedEverywhere,
    then: EVIDENCE_DONE,
    phases: { [Phase.VendorCheck]: runningOnly('D') },
  },
  {
    name: 'evidence key_probe',
    event: { type: 'evidence', evidence: { kind: 'key_probe', ok: true, via: 'token_request' } },
    ...refusedEverywhere,
    then: EVIDENCE_DONE,
    phases: {
      [Phase.KeyRegistration]: runningOnly('D'),
      [Phase.Cutover]: runningOnly('D'),
      // Before the operator confirmed, the probe is not judged: the client waits for a person.
      cutover_unconfirmed: {
        ...runningOnly('W'),
        then: { attempts: 'reset', reason: /awaiting operator confirmation/, checkAt: 'never' },
      },
    },
  },
  {
    name: 'evidence parallel_soak',
    event: {
      type: 'evidence',
      evidence: {
        kind: 'parallel_soak',
        secretSuccesses: 3,
        keySuccesses: 3,
        windowOpenedAt: new Date(NOW.getTime() - 600_000),
      },
    },
    ...refusedEverywhere,
    then: EVIDENCE_DONE,
    phases: { [Phase.ParallelAuth]: runningOnly('D') },
  },
  {
    name: 'evidence secret_probe_after_revocation',
    event: { type: 'evidence', evidence: { kind: 'secret_probe_after_revocation', rejected: true } },
    ...refusedEverywhere,
    then: EVIDENCE_DONE,
    // The secret is shredded exactly here, and nowhere else.
    phases: { [Phase.SecretRevocation]: { ...runningOnly('D'), then: { effects: [{ type: 'shred_secret' }] } } },
  },
  {
    name: 'evidence dpop_probe',
    event: { type: 'evidence', evidence: { kind: 'dpop_probe', boundTokenIssued: true, unboundRefused: true } },
    ...refusedEverywhere,
    then: EVIDENCE_DONE,
    phases: { [Phase.SenderConstraint]: runningOnly('D') },
  },
  {
    // A transient fault: waiting for the retry time; the attempt counted.
    name: 'transient_failure',
    event: { type: 'transient_failure', reason: 'AS answered 503', retryAt: new Date(NOW.getTime() + 30_000) },
    ...runningOnly('W'),
    then: { ...WORKER, checkAt: 'event' },
  },
  {
    name: 'retries_exhausted',
    event: { type: 'retries_exhausted', reason: 'five 503s' },
    ...runningOnly('F'),
    then: WORKER,
  },
  {
    name: 'needs_person',
    event: { type: 'needs_person', reason: 'no registration access token' },
    ...runningOnly('B'),
    then: WORKER,
  },
  {
    // The worker died holding the lease: the phase is due again at once; the attempt it used counts.
    name: 'lease_expired',
    event: { type: 'lease_expired' },
    ...runningOnly('P'),
    then: { ...WORKER, reason: /worker lease expired/, checkAt: 'now' },
  },
  {
    // A person's turn is not a failed round: attempts start again.
    name: 'awaiting',
    event: { type: 'awaiting', reason: 'operator to set jwks_uri', recheckAt: new Date(NOW.getTime() + 3_600_000) },
    ...runningOnly('W'),
    then: { ...WORKER, attempts: 'reset', checkAt: 'event' },
  },
  {
    name: 'awaiting (no recheck)',
    event: { type: 'awaiting', reason: 'operator to set jwks_uri', recheckAt: null },
    ...runningOnly('W'),
    then: { ...WORKER, attempts: 'reset', checkAt: 'event' },
  },
  {
    // Only a waiting client awaits a server change; confirming it makes the phase due now.
    name: 'change_confirmed',
    event: { type: 'change_confirmed' },
    unpaused: '-  -  P  -  -  -',
    paused: '-  -  P  -  -  -',
    then: { ...WORKER, reason: 'cleared', checkAt: 'now' },
  },
  ...(['operator', 'system'] as const).map((by): EventRule => ({
    // Only a done gate advances, one phase; never while paused; never past completed.
    name: `advance by ${by}`,
    event: { type: 'advance', by },
    unpaused: 'G  G  G  G  G  +P',
    paused: NONE,
    then: ENTER,
    phases: {
      [Phase.SenderConstraint]: { unpaused: 'G  G  G  G  G  +D', paused: NONE, then: { checkAt: 'never' } },
      [Phase.Completed]: refusedEverywhere,
    },
  })),
  {
    // Only in the cutover phase, only once, not while a worker acts, not once done or failed.
    name: 'cutover_confirmed',
    event: { type: 'cutover_confirmed' },
    ...refusedEverywhere,
    then: { ...WORKER, reason: 'cleared', checkAt: 'now', cutoverConfirmedAt: 'now' },
    phases: { cutover_unconfirmed: { unpaused: 'P  -  P  P  -  -', paused: 'P  -  P  P  -  -' } },
  },
  {
    // Back one phase, up to and including cutover (revocation is the point of no return); not under a
    // running worker. The client is left paused so the reconciler does not redo the phase at once.
    name: 'rollback',
    event: { type: 'rollback' },
    ...refusedEverywhere,
    then: { ...ENTER, paused: true, effects: 'revert_at_server' },
    phases: {
      [Phase.KeyRegistration]: { unpaused: '-P -  -P -P -P -P', paused: '-P -  -P -P -P -P' },
      [Phase.ParallelAuth]: { unpaused: '-P -  -P -P -P -P', paused: '-P -  -P -P -P -P' },
      [Phase.Cutover]: { unpaused: '-P -  -P -P -P -P', paused: '-P -  -P -P -P -P' },
      cutover_unconfirmed: { unpaused: '-P -  -P -P -P -P', paused: '-P -  -P -P -P -P' },
    },
  },
  {
    // Pausing stops the reconciler only: state, reason and attempts stay; not twice; not once completed.
    name: 'pause',
    event: { type: 'pause' },
    unpaused: 'P  R  W  B  F  D',
    paused: NONE,
    then: { ...WORKER, reason: 'kept', paused: true },
    phases: { [Phase.Completed]: refusedEverywhere },
  },
  {
    // Resume unpauses (state, reason and attempts kept), and retries a blocked or failed phase from
    // the start: pending, attempts 0, reason cleared, and at cutover a fresh confirmation needed.
    name: 'resume',
    event: { type: 'resume' },
    unpaused: '-  -  -  retry retry -',
    paused: 'P  R  W  retry retry D',
    then: { ...WORKER, reason: 'kept', checkAt: 'now', paused: false },
  },
];
