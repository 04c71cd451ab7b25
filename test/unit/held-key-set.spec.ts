import { generateKeyPairSync } from 'node:crypto';
import { reflects } from '@keyshift/features/connectors/registration-recovery';
import { heldKeyMismatch, heldKeySet } from '@keyshift/features/migration/held-key-set';
import { calculateJwkThumbprint, JWK } from 'jose';

const OURS = 'https://keyshift.example/jwks/abc.json';
const publicJwk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK;

describe('the key set a registration record holds', () => {
  it('reads jwks_uri, else an inline jwks, else nothing', () => {
    expect(heldKeySet({ jwks_uri: OURS, jwks: { keys: [] } })).toEqual({
      kind: 'jwks_uri',
      uri: OURS,
      source: 'server_record',
    });
    expect(heldKeySet({ jwks: { keys: [{ kty: 'EC' }] } })).toEqual({ kind: 'jwks', jwks: { keys: [{ kty: 'EC' }] } });
    expect(heldKeySet({})).toEqual({ kind: 'none' });
    expect(heldKeySet({ jwks_uri: '', jwks: 'nope' })).toEqual({ kind: 'none' });
  });

  it('names every record that cannot hold the client key, and passes the ones that can', async () => {
    const key = publicJwk();
    const kid = await calculateJwkThumbprint(key);
    const cases: [string, Record<string, unknown>, RegExp | null][] = [
      ['no key at all', {}, /holds no key/],
      ['another jwks_uri', { jwks_uri: 'https://elsewhere.example/jwks' }, /names jwks_uri https:\/\/elsewhere/],
      ["Keyshift's jwks_uri", { jwks_uri: OURS }, null],
      [
        'a jwks without the key',
        { jwks: { keys: [{ ...publicJwk(), kid: 'other' }] } },
        /no key with kid or thumbprint/,
      ],
      ['a jwks with the kid', { jwks: { keys: [{ ...key, kid }] } }, null],
      ['a jwks with the key under another kid (thumbprint matches)', { jwks: { keys: [{ ...key, kid: 'x' }] } }, null],
    ];
    for (const [name, record, expected] of cases) {
      const mismatch = await heldKeyMismatch(heldKeySet(record), { jwksUri: OURS, kid }, 'client-1');
      if (expected) expect({ name, mismatch }).toEqual({ name, mismatch: expect.stringMatching(expected) });
      else expect({ name, mismatch }).toEqual({ name, mismatch: null });
    }
  });
});

describe('whether a registration read shows a journalled change', () => {
  it.each([
    [{ jwks_uri: OURS }, { jwks_uri: OURS }, true],
    [{ jwks_uri: OURS }, {}, false],
    [{ jwks_uri: null }, {}, true],
    [{ jwks_uri: null }, { jwks_uri: OURS }, false],
    [{ token_endpoint_auth_method: 'private_key_jwt' }, { token_endpoint_auth_method: 'private_key_jwt' }, true],
    [{ token_endpoint_auth_method: 'private_key_jwt' }, { token_endpoint_auth_method: 'client_secret_basic' }, false],
    [{ dpop_bound_access_tokens: true }, { dpop_bound_access_tokens: true }, true],
    [{ dpop_bound_access_tokens: true }, {}, false],
    [{ dpop_bound_access_tokens: false }, {}, true],
  ])('change %j, read %j: %s', (change, read, shown) => {
    expect(reflects(change, read)).toBe(shown);
  });
});
