import {
  awaitsCutoverConfirmation,
  escalateTransient,
  inReleasedWave,
  PhaseEvent,
  PhaseState,
  retriesExhausted,
  revocationRefusal,
  sweepStep,
} from '@keyshift/domain';

describe('the policy around the phase machine', () => {
  describe('retries', () => {
    it.each([
      [0, 3, false],
      [2, 3, false],
      [3, 3, true],
      [4, 3, true],
      [1, 1, true],
    ])('after %i attempts with a limit of %i, exhausted: %s', (attempts, max, exhausted) => {
      expect(retriesExhausted(attempts, max)).toBe(exhausted);
    });

    const transient: PhaseEvent = { type: 'transient_failure', reason: 'server answered 503', retryAt: new Date(0) };

    it('turns a transient failure on the last attempt into retries_exhausted, keeping the reason', () => {
      expect(escalateTransient(transient, 5, 5)).toEqual({
        type: 'retries_exhausted',
        reason: 'server answered 503 (gave up after 5 attempts)',
      });
    });

    it('leaves a transient failure with attempts to spare as it is', () => {
      expect(escalateTransient(transient, 4, 5)).toBe(transient);
    });

    it('never escalates anything but a transient failure', () => {
      const blocked: PhaseEvent = { type: 'needs_person', reason: 'no registration access token' };
      expect(escalateTransient(blocked, 99, 5)).toBe(blocked);
    });
  });

  describe('campaign waves', () => {
    const waves = new Map([
      ['running', 1],
      ['canary-only', 0],
    ]);

    it.each([
      ['a member of a released wave', { campaignId: 'running', campaignWave: 1 }, true],
      ['a member of an earlier wave', { campaignId: 'running', campaignWave: 0 }, true],
      ['a member of the next wave', { campaignId: 'running', campaignWave: 2 }, false],
      ['the canary of a campaign released to its canary', { campaignId: 'canary-only', campaignWave: 0 }, true],
      ['a member of a campaign that is not running', { campaignId: 'paused', campaignWave: 0 }, false],
      ['a member without a wave', { campaignId: 'running', campaignWave: null }, false],
      ['a client in no campaign', { campaignId: null, campaignWave: null }, false],
    ])('%s is released: %s', (_, member, released) => {
      expect(inReleasedWave(member, waves)).toBe(released);
    });

    it.each([
      [PhaseState.Done, 'running', 'advance_and_start'],
      [PhaseState.Done, null, 'park'],
      [PhaseState.Pending, null, 'start'],
      [PhaseState.Waiting, 'running', 'start'],
    ] as const)('a due %s client in campaign %s: %s', (state, campaignId, step) => {
      expect(sweepStep({ state, campaignId, campaignWave: 0 }, waves)).toBe(step);
    });

    it('parks a finished client whose wave is not released yet', () => {
      expect(sweepStep({ state: PhaseState.Done, campaignId: 'running', campaignWave: 2 }, waves)).toBe('park');
    });
  });

  describe('cutover confirmation', () => {
    it.each([
      ['confirm', null, true],
      ['confirm', new Date(0), false],
      ['automatic', null, false],
      ['automatic', new Date(0), false],
    ] as const)('cutover %s, confirmed at %s: awaits a person: %s', (cutover, cutoverConfirmedAt, awaits) => {
      expect(awaitsCutoverConfirmation({ cutover, cutoverConfirmedAt })).toBe(awaits);
    });
  });

  describe('the point of no return', () => {
    const refused = 'refusing to revoke: no successful private_key_jwt token request is recorded since cutover';

    it('lets revocation go ahead only after a successful token request at cutover', () => {
      expect(revocationRefusal({ outcome: 'ok', via: 'token_request' })).toBeNull();
    });

    it.each([
      ['no cutover probe at all', null],
      ['a refused token request', { outcome: 'rejected', via: 'token_request' }],
      ['a rate-limited token request', { outcome: 'rate_limited', via: 'token_request' }],
      ['a published-JWKS check instead of a token request', { outcome: 'ok', via: 'published_jwks' }],
    ])('refuses after %s', (_, probe) => {
      expect(revocationRefusal(probe)).toBe(refused);
    });
  });
});
