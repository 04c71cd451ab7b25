import { Phase, PHASE_ORDER } from '@keyshift/domain';
import {
  applied,
  desiredRegistration,
  recordedRegistration,
  registrationChange,
  RegistrationFacts,
} from '@keyshift/features/migration/desired-registration';

const KEYS = { jwksUri: 'https://keyshift.example.com/jwks/a.json', alg: 'ES256' };
const inPlace = (over: Partial<RegistrationFacts> = {}): RegistrationFacts => ({
  strategy: 'in_place',
  sourceMethod: 'client_secret_basic',
  senderConstraint: 'dpop',
  secretOutlivesSwitch: false,
  ...over,
});

/** Walks the phases forward from an imported client, applying each phase's change as a converge would. */
function walk(facts: RegistrationFacts) {
  let state = {};
  return PHASE_ORDER.map((phase) => {
    const wanted = desiredRegistration(phase as Phase, facts).original;
    if (wanted === 'deleted') return { phase, change: 'deleted' };
    const change = registrationChange(recordedRegistration(state, facts.sourceMethod), wanted, KEYS);
    if (change) state = applied(state, change, ['k1']);
    return { phase, change };
  });
}

describe('the registration each phase needs', () => {
  it('in place at an RFC 7592 server: key, switch, DPoP; the switch alone retires the secret', () => {
    expect(walk(inPlace()).map((s) => s.change)).toEqual([
      null, // vendor_check
      { jwks_uri: KEYS.jwksUri },
      null, // parallel_auth
      { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256' },
      null, // secret_revocation: nothing left at the server
      { dpop_bound_access_tokens: true },
      null, // completed
    ]);
  });

  it('in place where the server keeps the secret: revocation destroys it there, once, and never brings it back', () => {
    const steps = walk(inPlace({ secretOutlivesSwitch: true, senderConstraint: 'none' }));
    expect(steps.find((s) => s.phase === Phase.SecretRevocation)!.change).toEqual({ retire_secret: true });
    expect(steps.filter((s) => s.change && typeof s.change === 'object' && 'retire_secret' in s.change)).toHaveLength(
      1,
    );
    // A state that records the retirement wants nothing of it again, even at an earlier phase's table.
    const retired = {
      authMethod: 'private_key_jwt',
      keys: { delivery: 'jwks_uri' as const, kids: ['k1'] },
      secretRetired: true,
    };
    const cutover = desiredRegistration(
      Phase.Cutover,
      inPlace({ secretOutlivesSwitch: true, senderConstraint: 'none' }),
    );
    expect(
      registrationChange(recordedRegistration(retired, 'client_secret_basic'), cutover.original as never, KEYS),
    ).toBeNull();
  });

  it('a rollback from cutover puts the secret method back and unsets the alg', () => {
    const state = applied(
      applied({}, { jwks_uri: KEYS.jwksUri }, ['k1']),
      {
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
      },
      ['k1'],
    );
    const back = desiredRegistration(Phase.ParallelAuth, inPlace({ sourceMethod: 'client_secret_post' })).original;
    expect(registrationChange(recordedRegistration(state, 'client_secret_post'), back as never, KEYS)).toEqual({
      token_endpoint_auth_method: 'client_secret_post',
      token_endpoint_auth_signing_alg: null,
    });
  });

  it('successor: the original keeps its secret until revocation deletes it; it is never asked to retire one', () => {
    const facts = inPlace({ strategy: 'successor', secretOutlivesSwitch: true });
    expect(desiredRegistration(Phase.Cutover, facts)).toEqual({
      original: { authMethod: 'client_secret_basic', keys: false, dpopBound: false, secretRetired: false },
      successor: { authMethod: 'private_key_jwt', keys: true, dpopBound: false, secretRetired: false },
    });
    expect(desiredRegistration(Phase.SecretRevocation, facts).original).toBe('deleted');
  });
});
