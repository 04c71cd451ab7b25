import { Evidence, GateContext, GatePolicy, judge, Phase } from '@keyshift/domain';

const NOW = new Date('2026-11-23T12:00:00Z');
const POLICY: GatePolicy = {
  soak: { minSuccesses: 3, minSeconds: 600, intervalSeconds: 60 },
  recheckSeconds: 30,
  maxAttempts: 5,
};
const ctx = (over: Partial<GateContext> = {}): GateContext => ({
  senderConstraint: 'dpop',
  cutover: 'confirm',
  cutoverConfirmedAt: NOW,
  attempts: 1,
  ...over,
});
const at = (ms: number) => new Date(NOW.getTime() + ms);
const recheck = { recheckAt: at(30_000), until: 'retry' };

describe('gates: judge', () => {
  describe('vendor_support', () => {
    it('is satisfied when supported, and blocks naming what is missing otherwise', () => {
      expect(judge(Phase.VendorCheck, { kind: 'vendor_support', supported: true }, ctx(), POLICY, NOW)).toEqual({
        verdict: 'satisfied',
      });
      expect(
        judge(Phase.VendorCheck, { kind: 'vendor_support', supported: false, missing: ['a', 'b'] }, ctx(), POLICY, NOW),
      ).toEqual({ verdict: 'block', reason: 'authorization server does not support: a, b' });
    });
  });

  describe('retry rounds', () => {
    const bad: Evidence = { kind: 'key_probe', ok: false, via: 'published_jwks', detail: 'kid unknown' };
    it('waits for a recheck below the maximum attempts and fails at it', () => {
      expect(judge(Phase.KeyRegistration, bad, ctx({ attempts: 4 }), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'key not yet accepted: kid unknown',
        ...recheck,
      });
      expect(judge(Phase.KeyRegistration, bad, ctx({ attempts: 5 }), POLICY, NOW)).toEqual({
        verdict: 'fail',
        reason: 'key not yet accepted: kid unknown (gave up after 5 attempts)',
      });
      expect(judge(Phase.KeyRegistration, bad, ctx({ attempts: 6 }), POLICY, NOW)).toMatchObject({ verdict: 'fail' });
    });
  });

  describe('key_probe', () => {
    const ok: Evidence = { kind: 'key_probe', ok: true, via: 'token_request' };
    it('at cutover, waits for the operator when the cutover needs a confirmation that has not come', () => {
      expect(judge(Phase.Cutover, ok, ctx({ cutoverConfirmedAt: null }), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'awaiting operator confirmation of the cutover (POST /v1/clients/{id}/cutover/confirm)',
        recheckAt: null,
        until: 'person',
      });
    });

    it('needs no confirmation for an automatic cutover, once confirmed, or outside cutover', () => {
      expect(judge(Phase.Cutover, ok, ctx({ cutover: 'automatic', cutoverConfirmedAt: null }), POLICY, NOW)).toEqual({
        verdict: 'satisfied',
      });
      expect(judge(Phase.Cutover, ok, ctx(), POLICY, NOW)).toEqual({ verdict: 'satisfied' });
      expect(judge(Phase.KeyRegistration, ok, ctx({ cutoverConfirmedAt: null }), POLICY, NOW)).toEqual({
        verdict: 'satisfied',
      });
    });

    it('accepts a JWKS check at key registration but not at cutover', () => {
      const jwks: Evidence = { kind: 'key_probe', ok: true, via: 'published_jwks' };
      expect(judge(Phase.KeyRegistration, jwks, ctx(), POLICY, NOW)).toEqual({ verdict: 'satisfied' });
      expect(judge(Phase.Cutover, jwks, ctx(), POLICY, NOW)).toEqual({
        verdict: 'fail',
        reason: 'cutover needs a private_key_jwt token request, not a JWKS check',
      });
      // Even a failing JWKS check at cutover is refused as the wrong kind of proof.
      expect(judge(Phase.Cutover, { ...jwks, ok: false }, ctx(), POLICY, NOW)).toMatchObject({
        reason: 'cutover needs a private_key_jwt token request, not a JWKS check',
      });
    });

    it('fails a key probe after cutover at once, and rechecks one at key registration', () => {
      const failed: Evidence = { kind: 'key_probe', ok: false, via: 'token_request', detail: 'invalid_client' };
      expect(judge(Phase.Cutover, failed, ctx({ attempts: 1 }), POLICY, NOW)).toEqual({
        verdict: 'fail',
        reason: 'key probe failed after cutover: invalid_client',
      });
      expect(judge(Phase.Cutover, { ...failed, detail: undefined }, ctx(), POLICY, NOW)).toEqual({
        verdict: 'fail',
        reason: 'key probe failed after cutover: rejected',
      });
      expect(judge(Phase.KeyRegistration, { ...failed, detail: undefined }, ctx(), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'key not yet accepted: rejected',
        ...recheck,
      });
    });
  });

  describe('parallel_soak', () => {
    const soak = (over: Partial<Extract<Evidence, { kind: 'parallel_soak' }>>): Evidence => ({
      kind: 'parallel_soak',
      secretSuccesses: 3,
      keySuccesses: 3,
      windowOpenedAt: at(-600_000),
      ...over,
    });

    it('blocks when the overlap broke', () => {
      expect(judge(Phase.ParallelAuth, soak({ rejection: 'secret: invalid_client' }), ctx(), POLICY, NOW)).toEqual({
        verdict: 'block',
        reason: 'overlap broken: secret: invalid_client',
      });
    });

    it('is satisfied with both counts reached and the window over, to the millisecond', () => {
      expect(judge(Phase.ParallelAuth, soak({}), ctx(), POLICY, NOW)).toEqual({ verdict: 'satisfied' });
      expect(judge(Phase.ParallelAuth, soak({ windowOpenedAt: at(-599_999) }), ctx(), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'soaking: secret 3/3, key 3/3, window ends 2026-11-23T12:00:00.001Z',
        recheckAt: at(1),
        until: 'timer',
      });
    });

    it.each([
      [2, 3, 'secret 2/3, key 3/3'],
      [3, 2, 'secret 3/3, key 2/3'],
    ])(
      'keeps soaking with secret %i, key %i successes, a round per interval',
      (secretSuccesses, keySuccesses, counts) => {
        expect(
          judge(
            Phase.ParallelAuth,
            soak({ secretSuccesses, keySuccesses, windowOpenedAt: at(-3_600_000) }),
            ctx(),
            POLICY,
            NOW,
          ),
        ).toEqual({
          verdict: 'wait',
          reason: `soaking: ${counts}, window ends 2026-11-23T11:10:00.000Z`,
          recheckAt: at(60_000),
          until: 'timer',
        });
      },
    );

    it('rechecks at the window end when that comes before the next round, and shows a note', () => {
      expect(
        judge(Phase.ParallelAuth, soak({ windowOpenedAt: at(-570_000), note: 'no real overlap' }), ctx(), POLICY, NOW),
      ).toEqual({
        verdict: 'wait',
        reason: 'soaking: secret 3/3, key 3/3, window ends 2026-11-23T12:00:30.000Z; no real overlap',
        recheckAt: at(30_000),
        until: 'timer',
      });
      // Not enough successes yet: the window end is no reason to look early.
      expect(
        judge(Phase.ParallelAuth, soak({ keySuccesses: 1, windowOpenedAt: at(-570_000) }), ctx(), POLICY, NOW),
      ).toMatchObject({
        recheckAt: at(60_000),
      });
      // The window ends after the next round: the round comes first.
      expect(judge(Phase.ParallelAuth, soak({ windowOpenedAt: at(-500_000) }), ctx(), POLICY, NOW)).toMatchObject({
        recheckAt: at(60_000),
      });
    });
  });

  describe('secret_probe_after_revocation', () => {
    it('is satisfied only by a rejected secret, and rechecks a secret still accepted', () => {
      expect(
        judge(Phase.SecretRevocation, { kind: 'secret_probe_after_revocation', rejected: true }, ctx(), POLICY, NOW),
      ).toEqual({ verdict: 'satisfied' });
      expect(
        judge(Phase.SecretRevocation, { kind: 'secret_probe_after_revocation', rejected: false }, ctx(), POLICY, NOW),
      ).toEqual({ verdict: 'wait', reason: 'old secret still accepted: token issued', ...recheck });
      expect(
        judge(
          Phase.SecretRevocation,
          { kind: 'secret_probe_after_revocation', rejected: false, detail: 'HTTP 200' },
          ctx({ attempts: 5 }),
          POLICY,
          NOW,
        ),
      ).toEqual({ verdict: 'fail', reason: 'old secret still accepted: HTTP 200 (gave up after 5 attempts)' });
    });
  });

  describe('dpop_probe', () => {
    const probe = (boundTokenIssued: boolean, unboundRefused: boolean, detail?: string): Evidence => ({
      kind: 'dpop_probe',
      boundTokenIssued,
      unboundRefused,
      detail,
    });
    it('needs both a bound token and a refused unbound request', () => {
      expect(judge(Phase.SenderConstraint, probe(true, true), ctx(), POLICY, NOW)).toEqual({ verdict: 'satisfied' });
      expect(judge(Phase.SenderConstraint, probe(true, false), ctx(), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'a token request without a DPoP proof was still accepted',
        ...recheck,
      });
      expect(judge(Phase.SenderConstraint, probe(false, true), ctx(), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'DPoP request did not yield a DPoP-bound token',
        ...recheck,
      });
      expect(judge(Phase.SenderConstraint, probe(false, false, 'token_type Bearer'), ctx(), POLICY, NOW)).toEqual({
        verdict: 'wait',
        reason: 'DPoP request did not yield a DPoP-bound token: token_type Bearer',
        ...recheck,
      });
    });

    it('is satisfied whatever the probe says when no sender constraint was requested', () => {
      expect(
        judge(Phase.SenderConstraint, probe(false, false), ctx({ senderConstraint: 'none' }), POLICY, NOW),
      ).toEqual({
        verdict: 'satisfied',
      });
    });
  });

  it('throws on evidence of a kind it does not know', () => {
    expect(() => judge(Phase.VendorCheck, { kind: 'hunch' } as never, ctx(), POLICY, NOW)).toThrow('Unreachable case');
  });
});
