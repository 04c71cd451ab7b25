import {
  ALL_STATES,
  assertUnreachable,
  canRollBackFrom,
  isSenderConstrained,
  needsAPerson,
  NEEDS_A_PERSON_STATES,
  nextPhase,
  Phase,
  PHASE_ORDER,
  PhaseState,
  POINT_OF_NO_RETURN,
  previousPhase,
  probesNeeded,
} from '@keyshift/domain';

describe('phases', () => {
  it('runs in this order, completed last', () => {
    expect(PHASE_ORDER).toEqual([
      'vendor_check',
      'key_registration',
      'parallel_auth',
      'cutover',
      'secret_revocation',
      'sender_constraint',
      'completed',
    ]);
    expect(ALL_STATES).toEqual(['pending', 'running', 'waiting', 'blocked', 'failed', 'done']);
    expect(POINT_OF_NO_RETURN).toBe(Phase.SecretRevocation);
  });

  it('steps one phase forward and back, with nothing past either end', () => {
    expect(PHASE_ORDER.map(nextPhase)).toEqual([...PHASE_ORDER.slice(1), null]);
    expect(PHASE_ORDER.map(previousPhase)).toEqual([null, ...PHASE_ORDER.slice(0, -1)]);
  });

  it('rolls back only from after vendor_check up to before revocation', () => {
    expect(PHASE_ORDER.map((p) => [p, canRollBackFrom(p)])).toEqual([
      [Phase.VendorCheck, false],
      [Phase.KeyRegistration, true],
      [Phase.ParallelAuth, true],
      [Phase.Cutover, true],
      [Phase.SecretRevocation, false],
      [Phase.SenderConstraint, false],
      [Phase.Completed, false],
    ]);
  });
});

describe('client predicates', () => {
  it('needs a person when failed or blocked, unless completed', () => {
    expect(NEEDS_A_PERSON_STATES).toEqual([PhaseState.Failed, PhaseState.Blocked]);
    for (const phase of PHASE_ORDER) {
      expect(ALL_STATES.filter((s) => needsAPerson(phase, s))).toEqual(
        phase === Phase.Completed ? [] : [PhaseState.Blocked, PhaseState.Failed],
      );
    }
  });

  it('is sender-constrained once the last phase is done or the client completed, and only with a target', () => {
    const constrained = (target: string) =>
      PHASE_ORDER.flatMap((phase) =>
        ALL_STATES.filter((s) => isSenderConstrained(target, phase, s)).map((s) => `${phase}/${s}`),
      );
    expect(constrained('dpop')).toEqual(['sender_constraint/done', ...ALL_STATES.map((s) => `completed/${s}`)]);
    expect(constrained('none')).toEqual([]);
  });
});

describe('evidence probes', () => {
  const secret = { credential: 'secret', dpop: false };
  const key = { credential: 'key', dpop: false };
  it.each([
    [Phase.VendorCheck, 'dpop', []],
    [Phase.KeyRegistration, 'dpop', [key]],
    [Phase.ParallelAuth, 'dpop', [secret, key]],
    [Phase.Cutover, 'dpop', [key]],
    [Phase.SecretRevocation, 'dpop', [secret]],
    [Phase.SenderConstraint, 'dpop', [{ credential: 'key', dpop: true }, key]],
    [Phase.SenderConstraint, 'none', [key]],
    [Phase.Completed, 'dpop', [key]],
    [Phase.Completed, 'none', [key]],
  ] as const)('%s (sender constraint %s) keeps its evidence fresh with %j', (phase, sc, probes) => {
    expect(probesNeeded(phase, sc)).toEqual(probes);
  });
});

describe('assertUnreachable', () => {
  it('throws, naming the value that was not handled', () => {
    expect(() => assertUnreachable({ kind: 'new' } as never)).toThrow('Unreachable case: {"kind":"new"}');
  });
});
