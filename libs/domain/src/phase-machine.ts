import { assertUnreachable } from './assert-unreachable';
import { Evidence } from './evidence';
import { GATE_DESCRIPTIONS, GATE_EVIDENCE, GatePolicy, judge } from './gates';
import { Phase, PhaseState, canRollBackFrom, nextPhase, previousPhase } from './phases';

/**
 * The phase machine as data: `decide` is a pure function from (client, event, now) to the next
 * state and the side effects to carry out. It imports nothing from Nest or TypeORM; the worker's
 * executor performs the effects and the persistence layer writes the result with a version check.
 */

/** The part of a client the machine reads. */
export interface ClientSnapshot {
  phase: Phase;
  state: PhaseState;
  paused: boolean;
  senderConstraint: 'dpop' | 'none';
  cutover: 'confirm' | 'automatic';
  cutoverConfirmedAt: Date | null;
  /** When the client entered its current phase: a soak window opens here. */
  phaseEnteredAt: Date;
  attempts: number;
  reason: string | null;
}

export type Actor = 'operator' | 'system';

export type PhaseEvent =
  /** A worker leased the client to do the current phase's work. */
  | { type: 'start' }
  /** A worker recorded evidence for the current phase. */
  | { type: 'evidence'; evidence: Evidence }
  /** The phase's work cannot go on until a person acts or `recheckAt` comes (not a fault). */
  | { type: 'awaiting'; reason: string; recheckAt: Date | null }
  /** An operator made the change a manual connector asked for at the server: look again now. */
  | { type: 'change_confirmed' }
  /** The phase's work hit a transient fault (server down, 429, timeout): retry at `retryAt`. */
  | { type: 'transient_failure'; reason: string; retryAt: Date }
  /** Retries are exhausted. */
  | { type: 'retries_exhausted'; reason: string }
  /** Something only a person can resolve (unsupported server, missing registration access token...). */
  | { type: 'needs_person'; reason: string }
  /** A worker lease ran out without a result (the worker died): the phase is retried. */
  | { type: 'lease_expired' }
  | { type: 'advance'; by: Actor }
  | { type: 'cutover_confirmed' }
  | { type: 'rollback' }
  | { type: 'pause' }
  | { type: 'resume' };

export type PhaseEventType = PhaseEvent['type'];

export type Effect =
  /** Carry out the current phase's work (register a key, probe, switch the method...). */
  | { type: 'run_phase'; phase: Phase }
  /** Undo at the authorization server what `from` and its predecessor did, back to `to`. */
  | { type: 'revert_at_server'; from: Phase; to: Phase }
  /** Switch the client back to its secret right after a failed cutover. */
  | { type: 'switch_back_to_secret' }
  /** Destroy Keyshift's copy of the shared secret (crypto-shredding). */
  | { type: 'shred_secret' };

/** The fields a transition may change. */
export interface NextState {
  phase: Phase;
  state: PhaseState;
  paused: boolean;
  reason: string | null;
  /** When the reconciler should look again; null means only a person or a lease moves it. */
  nextCheckAt: Date | null;
  attempts: number;
  cutoverConfirmedAt: Date | null;
  phaseEnteredAt: Date;
}

export type Decision =
  | { ok: true; next: NextState; effects: Effect[] }
  | { ok: false; refusal: 'transition_not_allowed' | 'gate_not_met'; message: string };

function refuse(message: string): Decision {
  return { ok: false, refusal: 'transition_not_allowed', message };
}

function carry(client: ClientSnapshot): NextState {
  return {
    phase: client.phase,
    state: client.state,
    paused: client.paused,
    reason: null,
    nextCheckAt: null,
    attempts: client.attempts,
    cutoverConfirmedAt: client.cutoverConfirmedAt,
    phaseEnteredAt: client.phaseEnteredAt,
  };
}

/** The state a phase starts in: due now unless paused. */
function enterPhase(client: ClientSnapshot, phase: Phase, now: Date, paused = client.paused): NextState {
  const completed = phase === Phase.Completed;
  return {
    phase,
    state: completed ? PhaseState.Done : PhaseState.Pending,
    paused,
    reason: null,
    nextCheckAt: completed || paused ? null : now,
    attempts: 0,
    // A confirmation belongs to one cutover attempt: leaving the phase clears it.
    cutoverConfirmedAt: phase === Phase.Cutover ? client.cutoverConfirmedAt : null,
    phaseEnteredAt: now,
  };
}

/** Does this phase have a gate that is met without doing anything (nothing was asked of it)? */
function isNoOpPhase(client: ClientSnapshot, phase: Phase): boolean {
  return phase === Phase.SenderConstraint && client.senderConstraint === 'none';
}

export function decide(client: ClientSnapshot, event: PhaseEvent, now: Date, policy: GatePolicy): Decision {
  const { phase, state } = client;
  switch (event.type) {
    case 'start': {
      if (client.paused) return refuse('client is paused');
      if (state !== PhaseState.Pending && state !== PhaseState.Waiting) {
        return refuse(`cannot start work in state ${state}`);
      }
      if (phase === Phase.Completed) return refuse('client has completed its migration');
      if (isNoOpPhase(client, phase)) {
        return {
          ok: true,
          next: {
            ...carry(client),
            state: PhaseState.Done,
            reason: 'no sender constraint requested',
            nextCheckAt: now,
          },
          effects: [],
        };
      }
      return {
        ok: true,
        next: { ...carry(client), state: PhaseState.Running, attempts: client.attempts + 1 },
        effects: [{ type: 'run_phase', phase }],
      };
    }

    case 'evidence': {
      if (state !== PhaseState.Running)
        return refuse(`evidence is only accepted while the phase is running (state ${state})`);
      const expected = GATE_EVIDENCE[phase];
      if (expected !== event.evidence.kind) {
        return refuse(`phase ${phase} does not accept ${event.evidence.kind} evidence`);
      }
      const verdict = judge(phase, event.evidence, client, policy, now);
      const base = carry(client);
      switch (verdict.verdict) {
        case 'satisfied':
          return {
            ok: true,
            next: { ...base, state: PhaseState.Done, nextCheckAt: client.paused ? null : now },
            effects: phase === Phase.SecretRevocation ? [{ type: 'shred_secret' }] : [],
          };
        case 'wait':
          return {
            ok: true,
            next: {
              ...base,
              state: PhaseState.Waiting,
              reason: verdict.reason,
              nextCheckAt: client.paused ? null : verdict.recheckAt,
              // A soak round or a person's turn is progress, not a failed attempt.
              attempts: verdict.until === 'retry' ? client.attempts : 0,
            },
            effects: [],
          };
        case 'block':
          return { ok: true, next: { ...base, state: PhaseState.Blocked, reason: verdict.reason }, effects: [] };
        case 'fail':
          return {
            ok: true,
            next: { ...base, state: PhaseState.Failed, reason: verdict.reason },
            effects: phase === Phase.Cutover ? [{ type: 'switch_back_to_secret' }] : [],
          };
        default:
          return assertUnreachable(verdict);
      }
    }

    case 'awaiting':
      if (state !== PhaseState.Running) return refuse(`no work is running (state ${state})`);
      return {
        ok: true,
        next: {
          ...carry(client),
          state: PhaseState.Waiting,
          reason: event.reason,
          nextCheckAt: client.paused ? null : event.recheckAt,
          attempts: 0,
        },
        effects: [],
      };

    case 'change_confirmed':
      if (state !== PhaseState.Waiting)
        return refuse(`no server change is awaited (state ${state}); confirm only what Keyshift asked for`);
      return {
        ok: true,
        next: { ...carry(client), state: PhaseState.Pending, nextCheckAt: client.paused ? null : now },
        effects: [],
      };

    case 'transient_failure':
      if (state !== PhaseState.Running) return refuse(`no work is running (state ${state})`);
      return {
        ok: true,
        next: {
          ...carry(client),
          state: PhaseState.Waiting,
          reason: event.reason,
          nextCheckAt: client.paused ? null : event.retryAt,
        },
        effects: [],
      };

    case 'retries_exhausted':
      if (state !== PhaseState.Running) return refuse(`no work is running (state ${state})`);
      return { ok: true, next: { ...carry(client), state: PhaseState.Failed, reason: event.reason }, effects: [] };

    case 'needs_person':
      if (state !== PhaseState.Running) return refuse(`no work is running (state ${state})`);
      return { ok: true, next: { ...carry(client), state: PhaseState.Blocked, reason: event.reason }, effects: [] };

    case 'lease_expired':
      if (state !== PhaseState.Running) return refuse(`no lease is held (state ${state})`);
      return {
        ok: true,
        next: {
          ...carry(client),
          state: PhaseState.Pending,
          reason: 'worker lease expired; the phase is retried',
          nextCheckAt: client.paused ? null : now,
        },
        effects: [],
      };

    case 'advance': {
      if (phase === Phase.Completed) return refuse('client has completed its migration');
      if (client.paused) return refuse('client is paused; resume it first');
      if (state !== PhaseState.Done) {
        return {
          ok: false,
          refusal: 'gate_not_met',
          message: `phase ${phase} is ${state}; gate: ${GATE_DESCRIPTIONS[phase]}`,
        };
      }
      const to = nextPhase(phase)!;
      return { ok: true, next: enterPhase(client, to, now), effects: [] };
    }

    case 'cutover_confirmed':
      if (phase !== Phase.Cutover) return refuse(`cutover can only be confirmed in the cutover phase (phase ${phase})`);
      if (client.cutoverConfirmedAt) return refuse('cutover was already confirmed');
      if (state === PhaseState.Running) return refuse('a worker is acting on this client; retry shortly');
      if (state === PhaseState.Done || state === PhaseState.Failed)
        return refuse(`cannot confirm a cutover in state ${state}`);
      return {
        ok: true,
        next: {
          ...carry(client),
          state: PhaseState.Pending,
          cutoverConfirmedAt: now,
          nextCheckAt: client.paused ? null : now,
        },
        effects: [],
      };

    case 'rollback': {
      if (!canRollBackFrom(phase)) {
        return refuse(
          phase === Phase.VendorCheck
            ? 'nothing to roll back: the client has not left vendor_check'
            : `rollback is refused from ${phase}: revoking the secret is the point of no return`,
        );
      }
      if (state === PhaseState.Running) return refuse('a worker is acting on this client; pause it and retry');
      const to = previousPhase(phase)!;
      // Rolled-back clients stay paused so the reconciler does not redo the phase straight away.
      return {
        ok: true,
        next: enterPhase(client, to, now, true),
        effects: [{ type: 'revert_at_server', from: phase, to }],
      };
    }

    case 'pause':
      if (client.paused) return refuse('client is already paused');
      if (phase === Phase.Completed) return refuse('client has completed its migration');
      // Pausing only stops the reconciler from picking the client up; a running worker still
      // records what it observed, so no evidence is lost.
      return { ok: true, next: { ...carry(client), reason: client.reason, paused: true }, effects: [] };

    case 'resume': {
      if (!client.paused && state !== PhaseState.Blocked && state !== PhaseState.Failed) {
        return refuse('client is neither paused, blocked nor failed');
      }
      // Resuming a blocked or failed client retries its phase from the start.
      const retry = state === PhaseState.Blocked || state === PhaseState.Failed;
      const nextState = retry ? PhaseState.Pending : state;
      const due = nextState === PhaseState.Pending || nextState === PhaseState.Done || nextState === PhaseState.Waiting;
      return {
        ok: true,
        next: {
          ...carry(client),
          paused: false,
          state: nextState,
          reason: retry ? null : client.reason,
          attempts: retry ? 0 : client.attempts,
          nextCheckAt: due ? now : null,
          // A retried cutover needs a fresh confirmation: the last one led to a failure.
          cutoverConfirmedAt: retry && phase === Phase.Cutover ? null : client.cutoverConfirmedAt,
        },
        effects: [],
      };
    }

    default:
      return assertUnreachable(event);
  }
}
