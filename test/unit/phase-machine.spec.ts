import fc from 'fast-check';
import {
  ALL_STATES,
  canRollBackFrom,
  ClientSnapshot,
  decide,
  Evidence,
  GATE_DESCRIPTIONS,
  GATE_EVIDENCE,
  GatePolicy,
  Phase,
  PHASE_ORDER,
  PhaseEvent,
  PhaseState,
} from '@keyshift/domain';
import { COLUMNS, EventRule, PHASE_KEYS, PhaseKey, Rows, TABLE, Then } from './phase-machine.table';

const NOW = new Date('2026-11-23T12:00:00Z');
const POLICY: GatePolicy = {
  soak: { minSuccesses: 3, minSeconds: 600, intervalSeconds: 60 },
  recheckSeconds: 30,
  maxAttempts: 5,
};

function aSnapshot(overrides: Partial<ClientSnapshot> = {}): ClientSnapshot {
  return {
    phase: Phase.VendorCheck,
    state: PhaseState.Pending,
    paused: false,
    senderConstraint: 'dpop',
    cutover: 'confirm',
    cutoverConfirmedAt: null,
    phaseEnteredAt: new Date(NOW.getTime() - 3_600_000),
    attempts: 0,
    reason: null,
    ...overrides,
  };
}

/** Evidence that satisfies each phase's gate. */
const PASSING: Record<Exclude<Phase, Phase.Completed>, Evidence> = {
  [Phase.VendorCheck]: { kind: 'vendor_support', supported: true },
  [Phase.KeyRegistration]: { kind: 'key_probe', ok: true, via: 'token_request' },
  [Phase.ParallelAuth]: {
    kind: 'parallel_soak',
    secretSuccesses: 3,
    keySuccesses: 3,
    windowOpenedAt: new Date(NOW.getTime() - 600_000),
  },
  [Phase.Cutover]: { kind: 'key_probe', ok: true, via: 'token_request' },
  [Phase.SecretRevocation]: { kind: 'secret_probe_after_revocation', rejected: true },
  [Phase.SenderConstraint]: { kind: 'dpop_probe', boundTokenIssued: true, unboundRefused: true },
};

const ALL_EVENTS: PhaseEvent[] = [
  { type: 'start' },
  ...Object.values(PASSING).map((evidence) => ({ type: 'evidence' as const, evidence })),
  { type: 'transient_failure', reason: 'AS answered 503', retryAt: new Date(NOW.getTime() + 30_000) },
  { type: 'retries_exhausted', reason: 'five 503s' },
  { type: 'needs_person', reason: 'no registration access token' },
  { type: 'lease_expired' },
  { type: 'advance', by: 'operator' },
  { type: 'advance', by: 'system' },
  { type: 'cutover_confirmed' },
  { type: 'rollback' },
  { type: 'pause' },
  { type: 'resume' },
  { type: 'awaiting', reason: 'operator to set jwks_uri', recheckAt: null },
  { type: 'change_confirmed' },
];

const indexOf = (p: Phase) => PHASE_ORDER.indexOf(p);

describe('phase machine: every phase × state × paused × event, against the hand-written table', () => {
  const CONFIRMED_AT = new Date(NOW.getTime() - 300_000);
  const EARLIER_REASON = 'earlier note';
  const STATE_OF: Record<string, PhaseState> = {
    P: PhaseState.Pending,
    R: PhaseState.Running,
    W: PhaseState.Waiting,
    B: PhaseState.Blocked,
    F: PhaseState.Failed,
    D: PhaseState.Done,
  };

  const tableClient = (key: PhaseKey, state: PhaseState, paused: boolean) =>
    aSnapshot({
      phase: key === 'cutover_unconfirmed' ? Phase.Cutover : key,
      state,
      paused,
      attempts: 2,
      reason: EARLIER_REASON,
      cutoverConfirmedAt: key === Phase.Cutover ? CONFIRMED_AT : null,
    });

  const rowsFor = (rule: EventRule, key: PhaseKey): Rows => rule.phases?.[key] ?? rule;
  const cellsOf = (row: string) => {
    const cells = row.trim().split(/\s+/);
    if (cells.length !== COLUMNS.length) throw new Error(`table row "${row}" has ${cells.length} cells`);
    return cells;
  };

  it('has a row for every event type the machine knows, for every phase and state', () => {
    const types = new Set(TABLE.map((r) => r.event.type));
    expect([...types].sort()).toEqual(
      [
        'start',
        'evidence',
        'awaiting',
        'change_confirmed',
        'transient_failure',
        'retries_exhausted',
        'needs_person',
        'lease_expired',
        'advance',
        'cutover_confirmed',
        'rollback',
        'pause',
        'resume',
      ].sort(),
    );
    expect([...new Set(COLUMNS)].sort()).toEqual([...ALL_STATES].sort());
    expect(PHASE_KEYS.filter((k) => k !== 'cutover_unconfirmed')).toEqual(PHASE_ORDER);
  });

  const cases = TABLE.flatMap((rule) =>
    PHASE_KEYS.flatMap((key) =>
      [false, true].flatMap((paused) =>
        COLUMNS.map((state, column) => ({
          rule,
          key,
          state,
          paused,
          cell: cellsOf(paused ? rowsFor(rule, key).paused : rowsFor(rule, key).unpaused)[column],
        })),
      ),
    ),
  );

  it.each(cases)('$key/$state paused=$paused on $rule.name → $cell', ({ rule, key, state, paused, cell }) => {
    const { event } = rule;
    const client = tableClient(key, state, paused);
    const { phase } = client;
    const decision = decide(client, event, NOW, POLICY);

    if (cell === '-' || cell === 'G') {
      expect(decision).toMatchObject({
        ok: false,
        refusal: cell === 'G' ? 'gate_not_met' : 'transition_not_allowed',
        message: expect.stringMatching(/\w/),
      });
      return;
    }
    if (!decision.ok) throw new Error(`expected ${cell}, refused: ${decision.message}`);
    const { next, effects } = decision;
    const then: Then = { ...rule.then, ...rowsFor(rule, key).then };

    // Phase and state.
    const retry = cell === 'retry';
    const move = retry ? '' : cell.length === 2 ? cell[0] : '';
    const expectedPhase =
      move === '+' ? PHASE_ORDER[indexOf(phase) + 1] : move === '-' ? PHASE_ORDER[indexOf(phase) - 1] : phase;
    const expectedState = retry ? PhaseState.Pending : STATE_OF[cell[cell.length - 1]];
    expect({ phase: next.phase, state: next.state }).toEqual({ phase: expectedPhase, state: expectedState });

    // Paused.
    const expectedPaused = then.paused === 'kept' ? paused : then.paused;
    expect(next.paused).toBe(expectedPaused);

    // Attempts: a retried phase starts counting again.
    const attempts = retry ? 'reset' : then.attempts;
    expect(next.attempts).toBe(attempts === 'kept' ? 2 : attempts === 'plus one' ? 3 : 0);

    // Reason.
    const reason = retry ? 'cleared' : then.reason;
    if (reason instanceof RegExp) expect(next.reason).toMatch(reason);
    else
      expect(next.reason).toBe(
        reason === 'cleared' ? null : reason === 'kept' ? EARLIER_REASON : (event as { reason: string }).reason,
      );

    // When the reconciler looks again: never for a paused client, nor for one running, blocked or failed.
    const notDue =
      expectedPaused || [PhaseState.Running, PhaseState.Blocked, PhaseState.Failed].includes(expectedState);
    const eventTime =
      event.type === 'transient_failure' ? event.retryAt : event.type === 'awaiting' ? event.recheckAt : undefined;
    const checkAt = retry ? 'now' : then.checkAt;
    expect(next.nextCheckAt).toEqual(
      notDue || checkAt === 'never'
        ? null
        : checkAt === 'now'
          ? NOW
          : eventTime === undefined
            ? 'no event time'
            : eventTime,
    );

    // Cutover confirmation: a retried cutover needs a fresh one.
    const confirmation = retry ? (phase === Phase.Cutover ? 'cleared' : 'kept') : then.cutoverConfirmedAt;
    expect(next.cutoverConfirmedAt).toEqual(
      confirmation === 'now' ? NOW : confirmation === 'cleared' ? null : client.cutoverConfirmedAt,
    );
    expect(next.phaseEnteredAt).toEqual(then.phaseEnteredAt === 'now' ? NOW : client.phaseEnteredAt);

    // Effects.
    const expectedEffects =
      then.effects === 'run_phase'
        ? [{ type: 'run_phase', phase }]
        : then.effects === 'revert_at_server'
          ? [{ type: 'revert_at_server', from: phase, to: expectedPhase }]
          : then.effects;
    expect(effects).toEqual(expectedEffects);

    // The invariants, stated once more independently of the table.
    const step = indexOf(next.phase) - indexOf(phase);
    // No phase is ever skipped; only advance moves forward, only rollback moves back.
    if (event.type === 'advance') expect(step).toBe(1);
    else if (event.type === 'rollback') expect(step).toBe(-1);
    else expect(step).toBe(0);
    // Nothing rolls back across the point of no return.
    if (step < 0) expect(indexOf(phase)).toBeLessThan(indexOf(Phase.SecretRevocation));
    // Only a done gate advances; only a running phase accepts evidence or worker outcomes.
    if (event.type === 'advance') expect(state).toBe(PhaseState.Done);
    if (['evidence', 'transient_failure', 'retries_exhausted', 'needs_person', 'lease_expired'].includes(event.type)) {
      expect(state).toBe(PhaseState.Running);
    }
    // A client that is not due has no nextCheckAt; a paused one is never due.
    if (next.paused) expect(next.nextCheckAt).toBeNull();
    if ([PhaseState.Blocked, PhaseState.Failed, PhaseState.Running].includes(next.state))
      expect(next.nextCheckAt).toBeNull();
    // The secret is shredded only on revocation evidence.
    if (effects.some((e) => e.type === 'shred_secret')) {
      expect(phase).toBe(Phase.SecretRevocation);
      expect(event).toMatchObject({
        type: 'evidence',
        evidence: { kind: 'secret_probe_after_revocation', rejected: true },
      });
    }
  });
});

describe('phase machine: gates', () => {
  const running = (phase: Phase, extra: Partial<ClientSnapshot> = {}) =>
    aSnapshot({ phase, state: PhaseState.Running, ...extra });
  const evidence = (e: Evidence): PhaseEvent => ({ type: 'evidence', evidence: e });

  it('describes the gate of every phase and names the evidence it reads', () => {
    for (const phase of PHASE_ORDER) expect(GATE_DESCRIPTIONS[phase]).toMatch(/\w/);
    for (const phase of PHASE_ORDER.slice(0, -1)) expect(GATE_EVIDENCE[phase]).not.toBeNull();
  });

  it.each(Object.entries(PASSING))('%s: passing evidence marks the phase done and due for advance', (phase, e) => {
    const d = decide(running(phase as Phase, { cutoverConfirmedAt: NOW }), evidence(e), NOW, POLICY);
    expect(d).toMatchObject({ ok: true, next: { phase, state: PhaseState.Done, nextCheckAt: NOW } });
  });

  it('refuses evidence meant for another phase', () => {
    const d = decide(
      running(Phase.SecretRevocation),
      evidence({ kind: 'key_probe', ok: true, via: 'token_request' }),
      NOW,
      POLICY,
    );
    expect(d).toMatchObject({ ok: false, refusal: 'transition_not_allowed' });
  });

  it('blocks a vendor check naming what the server lacks', () => {
    const d = decide(
      running(Phase.VendorCheck),
      evidence({ kind: 'vendor_support', supported: false, missing: ['private_key_jwt', 'ES256'] }),
      NOW,
      POLICY,
    );
    expect(d).toMatchObject({
      ok: true,
      next: { state: PhaseState.Blocked, reason: expect.stringContaining('private_key_jwt, ES256') },
    });
  });

  it('keeps soaking, one round per interval, until both counts and the window are reached', () => {
    const openedAt = new Date(NOW.getTime() - 60_000);
    const short = decide(
      running(Phase.ParallelAuth, { attempts: 4 }),
      evidence({ kind: 'parallel_soak', secretSuccesses: 5, keySuccesses: 5, windowOpenedAt: openedAt }),
      NOW,
      POLICY,
    );
    // A soak round is progress: the attempt count starts again.
    expect(short).toMatchObject({
      ok: true,
      next: { state: PhaseState.Waiting, nextCheckAt: new Date(NOW.getTime() + 60_000), attempts: 0 },
    });
    const nearlyOver = decide(
      running(Phase.ParallelAuth),
      evidence({
        kind: 'parallel_soak',
        secretSuccesses: 5,
        keySuccesses: 5,
        windowOpenedAt: new Date(NOW.getTime() - 590_000),
      }),
      NOW,
      POLICY,
    );
    expect(nearlyOver).toMatchObject({ next: { nextCheckAt: new Date(NOW.getTime() + 10_000) } });
    const few = decide(
      running(Phase.ParallelAuth),
      evidence({ kind: 'parallel_soak', secretSuccesses: 5, keySuccesses: 2, windowOpenedAt: new Date(0) }),
      NOW,
      POLICY,
    );
    expect(few).toMatchObject({
      ok: true,
      next: { state: PhaseState.Waiting, reason: expect.stringContaining('key 2/3') },
    });
    const broken = decide(
      running(Phase.ParallelAuth),
      evidence({
        kind: 'parallel_soak',
        secretSuccesses: 5,
        keySuccesses: 5,
        windowOpenedAt: new Date(0),
        rejection: 'secret: invalid_client',
      }),
      NOW,
      POLICY,
    );
    expect(broken).toMatchObject({ ok: true, next: { state: PhaseState.Blocked } });
  });

  it('waits for an operator before judging a cutover, and fails with a switch-back when the key probe fails after it', () => {
    const unconfirmed = decide(
      running(Phase.Cutover),
      evidence({ kind: 'key_probe', ok: true, via: 'token_request' }),
      NOW,
      POLICY,
    );
    expect(unconfirmed).toMatchObject({
      ok: true,
      next: { state: PhaseState.Waiting, reason: expect.stringContaining('confirmation') },
    });
    const failed = decide(
      running(Phase.Cutover, { cutoverConfirmedAt: NOW }),
      evidence({ kind: 'key_probe', ok: false, via: 'token_request', detail: 'invalid_client' }),
      NOW,
      POLICY,
    );
    expect(failed).toMatchObject({
      ok: true,
      next: { state: PhaseState.Failed },
      effects: [{ type: 'switch_back_to_secret' }],
    });
  });

  it('lets a client with automatic cutover be judged without a confirmation, but only on a token request', () => {
    const auto = running(Phase.Cutover, { cutover: 'automatic' });
    expect(decide(auto, evidence({ kind: 'key_probe', ok: true, via: 'token_request' }), NOW, POLICY)).toMatchObject({
      next: { state: PhaseState.Done },
    });
    expect(decide(auto, evidence({ kind: 'key_probe', ok: true, via: 'published_jwks' }), NOW, POLICY)).toMatchObject({
      next: { state: PhaseState.Failed, reason: expect.stringContaining('token request') },
    });
  });

  it('rechecks negative evidence after the recheck interval, and fails it after the maximum attempts', () => {
    const notYet = evidence({ kind: 'key_probe', ok: false, via: 'published_jwks', detail: 'kid not in JWKS' });
    expect(decide(running(Phase.KeyRegistration, { attempts: 2 }), notYet, NOW, POLICY)).toMatchObject({
      next: { state: PhaseState.Waiting, nextCheckAt: new Date(NOW.getTime() + 30_000), attempts: 2 },
    });
    expect(decide(running(Phase.KeyRegistration, { attempts: 5 }), notYet, NOW, POLICY)).toMatchObject({
      next: { state: PhaseState.Failed, reason: expect.stringContaining('gave up after 5 attempts') },
    });
  });

  it('waits on a person without counting it as an attempt, and looks again once they confirm the change', () => {
    const waiting = decide(
      running(Phase.KeyRegistration, { attempts: 3 }),
      { type: 'awaiting', reason: 'set the jwks_uri by hand', recheckAt: null },
      NOW,
      POLICY,
    );
    expect(waiting).toMatchObject({ next: { state: PhaseState.Waiting, nextCheckAt: null, attempts: 0 } });
    const snapshot = aSnapshot({ phase: Phase.KeyRegistration, state: PhaseState.Waiting });
    expect(decide(snapshot, { type: 'change_confirmed' }, NOW, POLICY)).toMatchObject({
      next: { state: PhaseState.Pending, nextCheckAt: NOW },
    });
    expect(decide(aSnapshot({ state: PhaseState.Done }), { type: 'change_confirmed' }, NOW, POLICY)).toMatchObject({
      ok: false,
    });
  });

  it('does not revoke on hope: an old secret that still works keeps the phase waiting', () => {
    const d = decide(
      running(Phase.SecretRevocation),
      evidence({ kind: 'secret_probe_after_revocation', rejected: false }),
      NOW,
      POLICY,
    );
    expect(d).toMatchObject({ ok: true, next: { state: PhaseState.Waiting }, effects: [] });
  });

  it('needs both DPoP facts, and passes the sender-constraint phase untouched when none was requested', () => {
    const half = decide(
      running(Phase.SenderConstraint),
      evidence({ kind: 'dpop_probe', boundTokenIssued: true, unboundRefused: false }),
      NOW,
      POLICY,
    );
    expect(half).toMatchObject({ ok: true, next: { state: PhaseState.Waiting } });
    const none = decide(
      aSnapshot({ phase: Phase.SenderConstraint, senderConstraint: 'none' }),
      { type: 'start' },
      NOW,
      POLICY,
    );
    expect(none).toMatchObject({ ok: true, next: { state: PhaseState.Done }, effects: [] });
  });

  it('refuses to advance a phase whose gate is not met, quoting the gate', () => {
    const d = decide(
      aSnapshot({ phase: Phase.KeyRegistration, state: PhaseState.Waiting }),
      { type: 'advance', by: 'operator' },
      NOW,
      POLICY,
    );
    expect(d).toMatchObject({
      ok: false,
      refusal: 'gate_not_met',
      message: expect.stringContaining(GATE_DESCRIPTIONS[Phase.KeyRegistration]),
    });
  });
});

describe('phase machine: rollback', () => {
  it.each(PHASE_ORDER.map((p) => [p, canRollBackFrom(p)] as const))('from %s allowed=%s', (phase, allowed) => {
    const d = decide(aSnapshot({ phase, state: PhaseState.Waiting }), { type: 'rollback' }, NOW, POLICY);
    expect(d.ok).toBe(allowed);
    if (d.ok) {
      expect(d.next).toMatchObject({
        phase: PHASE_ORDER[PHASE_ORDER.indexOf(phase) - 1],
        state: PhaseState.Pending,
        paused: true,
      });
      expect(d.effects).toEqual([{ type: 'revert_at_server', from: phase, to: d.next.phase }]);
    }
  });

  it('is allowed up to and including cutover, never from secret revocation on', () => {
    expect(PHASE_ORDER.filter(canRollBackFrom)).toEqual([Phase.KeyRegistration, Phase.ParallelAuth, Phase.Cutover]);
  });
});

describe('phase machine: random event sequences (fast-check)', () => {
  const eventArb = fc.constantFrom(...ALL_EVENTS);

  it('never skips a phase, never crosses back over revocation, and reaches completed only through every gate', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 200 }), (events) => {
        let client = aSnapshot();
        const passed = new Set<Phase>();
        let revoked = false;
        for (const event of events) {
          const d = decide(client, event, NOW, POLICY);
          if (!d.ok) continue;
          const from = indexOf(client.phase);
          const to = indexOf(d.next.phase);
          if (to > from) {
            expect(to).toBe(from + 1);
            passed.add(client.phase);
          }
          if (to < from) expect(revoked).toBe(false);
          if (d.next.phase === Phase.SecretRevocation) revoked = true;
          if (revoked) expect(to).toBeGreaterThanOrEqual(indexOf(Phase.SecretRevocation));
          client = { ...client, ...d.next, reason: d.next.reason };
        }
        if (client.phase === Phase.Completed) expect(passed.size).toBe(PHASE_ORDER.length - 1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('phase machine: random fault sequences (fast-check)', () => {
  /** The event that moves a client on from where it stands. */
  const progress = (c: ClientSnapshot): PhaseEvent => {
    if (c.paused || c.state === PhaseState.Blocked || c.state === PhaseState.Failed) return { type: 'resume' };
    if (c.state === PhaseState.Done) return { type: 'advance', by: 'system' };
    if (c.state === PhaseState.Running)
      return { type: 'evidence', evidence: PASSING[c.phase as Exclude<Phase, Phase.Completed>] };
    if (c.phase === Phase.Cutover && c.cutover === 'confirm' && !c.cutoverConfirmedAt)
      return { type: 'cutover_confirmed' };
    return { type: 'start' };
  };

  /** Every event a worker, a fault or an operator can produce, with evidence good and bad. */
  const EVENTS: PhaseEvent[] = [
    ...ALL_EVENTS,
    { type: 'evidence', evidence: { kind: 'key_probe', ok: false, via: 'token_request', detail: 'invalid_client' } },
    { type: 'evidence', evidence: { kind: 'key_probe', ok: true, via: 'published_jwks' } },
    { type: 'evidence', evidence: { kind: 'secret_probe_after_revocation', rejected: false } },
    { type: 'evidence', evidence: { kind: 'dpop_probe', boundTokenIssued: false, unboundRefused: true } },
  ];

  it('never shreds a secret unless a key token request succeeded at cutover since the client last left it', () => {
    let shredded = 0;

    fc.assert(
      fc.property(
        // 'progress' is whatever moves the client on; the rest are faults and operator moves at random.
        fc.array(
          fc.oneof(
            { arbitrary: fc.constant<'progress'>('progress'), weight: 3 },
            { arbitrary: fc.constantFrom(...EVENTS), weight: 2 },
          ),
          { minLength: 60, maxLength: 200 },
        ),
        fc.constantFrom<'confirm' | 'automatic'>('confirm', 'automatic'),
        (events, cutover) => {
          let client = aSnapshot({ cutover });
          let keyProvenAtCutover = false;
          for (const drawn of events) {
            const event = drawn === 'progress' ? progress(client) : drawn;
            const d = decide(client, event, NOW, POLICY);
            if (!d.ok) continue;
            if (
              client.phase === Phase.Cutover &&
              event.type === 'evidence' &&
              event.evidence.kind === 'key_probe' &&
              d.next.state === PhaseState.Done
            ) {
              expect(event.evidence).toMatchObject({ ok: true, via: 'token_request' });
              keyProvenAtCutover = true;
            }
            if (indexOf(d.next.phase) < indexOf(Phase.Cutover)) keyProvenAtCutover = false;
            if (d.next.phase === Phase.Cutover && d.next.state !== PhaseState.Done) keyProvenAtCutover = false;
            if (d.effects.some((e) => e.type === 'shred_secret')) {
              shredded++;
              expect(client.phase).toBe(Phase.SecretRevocation);
              expect(keyProvenAtCutover).toBe(true);
            }
            expect(Math.abs(indexOf(d.next.phase) - indexOf(client.phase))).toBeLessThanOrEqual(1);
            client = { ...client, ...d.next, reason: d.next.reason };
          }
        },
      ),
      { numRuns: 2_000 },
    );
    // The walks do reach revocation, so the property is exercised, not vacuous.
    expect(shredded).toBeGreaterThan(0);
  });
});
