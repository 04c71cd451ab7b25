import { ClientSnapshot, decide, GatePolicy, Phase, PhaseEvent, PhaseState } from '@keyshift/domain';

/** What the phase × state table (phase-machine.spec.ts) does not show: messages, verdict paths, no-op phases. */
const NOW = new Date('2026-11-23T12:00:00Z');
const POLICY: GatePolicy = {
  soak: { minSuccesses: 3, minSeconds: 600, intervalSeconds: 60 },
  recheckSeconds: 30,
  maxAttempts: 5,
};
const ENTERED = new Date(NOW.getTime() - 3_600_000);
const client = (over: Partial<ClientSnapshot> = {}): ClientSnapshot => ({
  phase: Phase.VendorCheck,
  state: PhaseState.Running,
  paused: false,
  senderConstraint: 'dpop',
  cutover: 'confirm',
  cutoverConfirmedAt: null,
  phaseEnteredAt: ENTERED,
  attempts: 2,
  reason: null,
  ...over,
});
const refusal = (c: ClientSnapshot, e: PhaseEvent) => {
  const d = decide(c, e, NOW, POLICY);
  if (d.ok) throw new Error('accepted');
  return d.message;
};

describe('phase machine: refusal messages say why', () => {
  it.each<[Partial<ClientSnapshot>, PhaseEvent, string]>([
    [{ paused: true, state: PhaseState.Pending }, { type: 'start' }, 'client is paused'],
    [{ state: PhaseState.Done }, { type: 'start' }, 'cannot start work in state done'],
    [{ phase: Phase.Completed, state: PhaseState.Pending }, { type: 'start' }, 'client has completed its migration'],
    [
      { state: PhaseState.Waiting },
      { type: 'evidence', evidence: { kind: 'vendor_support', supported: true } },
      'evidence is only accepted while the phase is running (state waiting)',
    ],
    [
      {},
      { type: 'evidence', evidence: { kind: 'dpop_probe', boundTokenIssued: true, unboundRefused: true } },
      'phase vendor_check does not accept dpop_probe evidence',
    ],
    [{ state: PhaseState.Done }, { type: 'awaiting', reason: 'r', recheckAt: null }, 'no work is running (state done)'],
    [
      { state: PhaseState.Pending },
      { type: 'transient_failure', reason: 'r', retryAt: NOW },
      'no work is running (state pending)',
    ],
    [{ state: PhaseState.Failed }, { type: 'retries_exhausted', reason: 'r' }, 'no work is running (state failed)'],
    [{ state: PhaseState.Blocked }, { type: 'needs_person', reason: 'r' }, 'no work is running (state blocked)'],
    [{ state: PhaseState.Waiting }, { type: 'lease_expired' }, 'no lease is held (state waiting)'],
    [
      { state: PhaseState.Done },
      { type: 'change_confirmed' },
      'no server change is awaited (state done); confirm only what Keyshift asked for',
    ],
    [
      { phase: Phase.Completed, state: PhaseState.Done },
      { type: 'advance', by: 'system' },
      'client has completed its migration',
    ],
    [{ paused: true, state: PhaseState.Done }, { type: 'advance', by: 'system' }, 'client is paused; resume it first'],
    [
      { phase: Phase.KeyRegistration, state: PhaseState.Waiting },
      { type: 'advance', by: 'operator' },
      'phase key_registration is waiting; gate: A private_key_jwt token request',
    ],
    [{}, { type: 'cutover_confirmed' }, 'cutover can only be confirmed in the cutover phase (phase vendor_check)'],
    [
      { phase: Phase.Cutover, state: PhaseState.Waiting, cutoverConfirmedAt: NOW },
      { type: 'cutover_confirmed' },
      'cutover was already confirmed',
    ],
    [{ phase: Phase.Cutover }, { type: 'cutover_confirmed' }, 'a worker is acting on this client; retry shortly'],
    [
      { phase: Phase.Cutover, state: PhaseState.Done },
      { type: 'cutover_confirmed' },
      'cannot confirm a cutover in state done',
    ],
    [
      { phase: Phase.Cutover, state: PhaseState.Failed },
      { type: 'cutover_confirmed' },
      'cannot confirm a cutover in state failed',
    ],
    [{ state: PhaseState.Waiting }, { type: 'rollback' }, 'nothing to roll back: the client has not left vendor_check'],
    [
      { phase: Phase.SecretRevocation, state: PhaseState.Waiting },
      { type: 'rollback' },
      'rollback is refused from secret_revocation: revoking the secret is the point of no return',
    ],
    [
      { phase: Phase.Completed, state: PhaseState.Done },
      { type: 'rollback' },
      'rollback is refused from completed: revoking the secret is the point of no return',
    ],
    [{ phase: Phase.Cutover }, { type: 'rollback' }, 'a worker is acting on this client; pause it and retry'],
    [{ paused: true }, { type: 'pause' }, 'client is already paused'],
    [{ phase: Phase.Completed, state: PhaseState.Done }, { type: 'pause' }, 'client has completed its migration'],
    [{ state: PhaseState.Waiting }, { type: 'resume' }, 'client is neither paused, blocked nor failed'],
  ])('%j on %j: "%s"', (over, event, message) => {
    expect(refusal(client(over), event)).toContain(message);
  });

  it('refuses an advance with a gate_not_met refusal, others with transition_not_allowed', () => {
    expect(decide(client({ state: PhaseState.Waiting }), { type: 'advance', by: 'system' }, NOW, POLICY)).toMatchObject(
      {
        ok: false,
        refusal: 'gate_not_met',
      },
    );
    expect(decide(client({ state: PhaseState.Done }), { type: 'start' }, NOW, POLICY)).toMatchObject({
      ok: false,
      refusal: 'transition_not_allowed',
    });
  });
});

describe('phase machine: evidence that does not satisfy the gate', () => {
  const keyRegistration = (over: Partial<ClientSnapshot> = {}) => client({ phase: Phase.KeyRegistration, ...over });
  const badKey: PhaseEvent = {
    type: 'evidence',
    evidence: { kind: 'key_probe', ok: false, via: 'published_jwks', detail: 'kid unknown' },
  };

  it('waits for a recheck, keeping the attempt count and the confirmation, not due while paused', () => {
    expect(decide(keyRegistration({ cutoverConfirmedAt: NOW }), badKey, NOW, POLICY)).toEqual({
      ok: true,
      next: {
        phase: Phase.KeyRegistration,
        state: PhaseState.Waiting,
        paused: false,
        reason: 'key not yet accepted: kid unknown',
        nextCheckAt: new Date(NOW.getTime() + 30_000),
        attempts: 2,
        cutoverConfirmedAt: NOW,
        phaseEnteredAt: ENTERED,
      },
      effects: [],
    });
    expect(decide(keyRegistration({ paused: true }), badKey, NOW, POLICY)).toMatchObject({
      ok: true,
      next: { state: PhaseState.Waiting, paused: true, nextCheckAt: null, attempts: 2 },
    });
  });

  it('resets the count for a soak round and for a person’s turn', () => {
    const soaking = decide(
      client({ phase: Phase.ParallelAuth, attempts: 4 }),
      {
        type: 'evidence',
        evidence: { kind: 'parallel_soak', secretSuccesses: 1, keySuccesses: 1, windowOpenedAt: NOW },
      },
      NOW,
      POLICY,
    );
    expect(soaking).toMatchObject({ ok: true, next: { state: PhaseState.Waiting, attempts: 0 } });
    const person = decide(
      client({ phase: Phase.Cutover, attempts: 4 }),
      { type: 'evidence', evidence: { kind: 'key_probe', ok: true, via: 'token_request' } },
      NOW,
      POLICY,
    );
    expect(person).toMatchObject({ ok: true, next: { state: PhaseState.Waiting, attempts: 0, nextCheckAt: null } });
  });

  it('fails after the last attempt without a switch-back outside cutover, and with one at cutover', () => {
    expect(decide(keyRegistration({ attempts: 5 }), badKey, NOW, POLICY)).toEqual({
      ok: true,
      next: expect.objectContaining({
        state: PhaseState.Failed,
        reason: 'key not yet accepted: kid unknown (gave up after 5 attempts)',
        nextCheckAt: null,
        attempts: 5,
      }),
      effects: [],
    });
    expect(
      decide(
        client({ phase: Phase.Cutover, cutoverConfirmedAt: NOW }),
        { type: 'evidence', evidence: { kind: 'key_probe', ok: false, via: 'token_request' } },
        NOW,
        POLICY,
      ),
    ).toMatchObject({
      ok: true,
      next: { state: PhaseState.Failed, nextCheckAt: null },
      effects: [{ type: 'switch_back_to_secret' }],
    });
  });

  it('blocks with the gate’s reason and no effects', () => {
    expect(
      decide(
        client(),
        { type: 'evidence', evidence: { kind: 'vendor_support', supported: false, missing: ['DPoP'] } },
        NOW,
        POLICY,
      ),
    ).toEqual({
      ok: true,
      next: expect.objectContaining({
        state: PhaseState.Blocked,
        reason: 'authorization server does not support: DPoP',
        nextCheckAt: null,
        attempts: 2,
      }),
      effects: [],
    });
  });

  it('marks a paused client done without making it due', () => {
    expect(
      decide(
        client({ paused: true }),
        { type: 'evidence', evidence: { kind: 'vendor_support', supported: true } },
        NOW,
        POLICY,
      ),
    ).toMatchObject({ ok: true, next: { state: PhaseState.Done, paused: true, nextCheckAt: null } });
  });
});

describe('phase machine: a sender-constraint phase with nothing to do', () => {
  const noConstraint = (over: Partial<ClientSnapshot> = {}) =>
    client({
      phase: Phase.SenderConstraint,
      state: PhaseState.Pending,
      senderConstraint: 'none',
      reason: 'x',
      ...over,
    });

  it('is done on start, with no work run and no attempt counted', () => {
    expect(decide(noConstraint(), { type: 'start' }, NOW, POLICY)).toEqual({
      ok: true,
      next: {
        phase: Phase.SenderConstraint,
        state: PhaseState.Done,
        paused: false,
        reason: 'no sender constraint requested',
        nextCheckAt: NOW,
        attempts: 2,
        cutoverConfirmedAt: null,
        phaseEnteredAt: ENTERED,
      },
      effects: [],
    });
    expect(decide(noConstraint({ state: PhaseState.Waiting }), { type: 'start' }, NOW, POLICY)).toMatchObject({
      ok: true,
      next: { state: PhaseState.Done },
    });
  });

  it('still refuses a start while paused or not due', () => {
    expect(decide(noConstraint({ paused: true }), { type: 'start' }, NOW, POLICY)).toMatchObject({ ok: false });
    expect(decide(noConstraint({ state: PhaseState.Done }), { type: 'start' }, NOW, POLICY)).toMatchObject({
      ok: false,
    });
  });

  it('is only a no-op in the sender-constraint phase', () => {
    expect(
      decide(
        client({ phase: Phase.ParallelAuth, state: PhaseState.Pending, senderConstraint: 'none' }),
        { type: 'start' },
        NOW,
        POLICY,
      ),
    ).toMatchObject({
      ok: true,
      next: { state: PhaseState.Running, attempts: 3 },
      effects: [{ type: 'run_phase', phase: Phase.ParallelAuth }],
    });
  });
});

describe('phase machine: entering a phase', () => {
  it('keeps a confirmation the snapshot already holds when entering cutover, and clears it when leaving', () => {
    const into = decide(
      client({ phase: Phase.ParallelAuth, state: PhaseState.Done, cutoverConfirmedAt: NOW }),
      { type: 'advance', by: 'system' },
      NOW,
      POLICY,
    );
    expect(into).toMatchObject({ ok: true, next: { phase: Phase.Cutover, cutoverConfirmedAt: NOW } });
    const out = decide(
      client({ phase: Phase.Cutover, state: PhaseState.Done, cutoverConfirmedAt: NOW }),
      { type: 'advance', by: 'system' },
      NOW,
      POLICY,
    );
    expect(out).toMatchObject({ ok: true, next: { phase: Phase.SecretRevocation, cutoverConfirmedAt: null } });
  });

  it('clears a confirmation on resuming a failed cutover only, not a failed phase elsewhere', () => {
    const failed = (phase: Phase) => client({ phase, state: PhaseState.Failed, cutoverConfirmedAt: NOW });
    expect(decide(failed(Phase.Cutover), { type: 'resume' }, NOW, POLICY)).toMatchObject({
      ok: true,
      next: { state: PhaseState.Pending, cutoverConfirmedAt: null, attempts: 0 },
    });
    expect(decide(failed(Phase.KeyRegistration), { type: 'resume' }, NOW, POLICY)).toMatchObject({
      ok: true,
      next: { state: PhaseState.Pending, cutoverConfirmedAt: NOW, attempts: 0 },
    });
  });

  it('throws on an event it does not know', () => {
    expect(() => decide(client(), { type: 'reboot' } as never, NOW, POLICY)).toThrow('Unreachable case');
  });
});
