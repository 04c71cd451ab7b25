import { hydraListed, hydraMetadata, hydraPatch } from '@keyshift/features/connectors/hydra/hydra-client';
import { nextPageToken } from '@keyshift/features/connectors/admin-http';

describe('Hydra clients in RFC 7591 terms', () => {
  it('records named RFC 7591 fields only: never a secret, nor free-form metadata', () => {
    expect(
      hydraMetadata({
        client_id: 'c1',
        client_secret: 'replaced-secret',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://k/jwks/a.json',
        metadata: { note: 'anything an operator typed' },
        rotated_secrets: ['old'],
        registration_access_token: 'rat',
      }),
    ).toEqual({ client_id: 'c1', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://k/jwks/a.json' });
  });

  it('patches as RFC 6902: jwks and jwks_uri exclusive, only present fields removed, the secret replaced on retirement', () => {
    expect(hydraPatch({ jwks: { keys: [] } }, { jwks_uri: 'https://k/a.json' }, () => 'x')).toEqual([
      { op: 'remove', path: '/jwks' },
      { op: 'add', path: '/jwks_uri', value: 'https://k/a.json' },
    ]);
    expect(hydraPatch({}, { jwks_uri: null, token_endpoint_auth_signing_alg: null }, () => 'x')).toEqual([]);
    expect(hydraPatch({}, { retire_secret: true }, () => 'fresh')).toEqual([
      { op: 'add', path: '/client_secret', value: 'fresh' },
    ]);
    expect(() => hydraPatch({}, { dpop_bound_access_tokens: true }, () => 'x')).toThrow(/no DPoP/);
  });

  it('lists a client with its method and dates, and reads the next page from a Link header of any host', () => {
    expect(
      hydraListed({
        client_id: 'c1',
        created_at: '2025-01-02T00:00:00Z',
        grant_types: ['client_credentials'],
        client_secret_expires_at: 0,
      }),
    ).toMatchObject({
      authMethod: 'client_secret_basic',
      secrets: { count: 1, issuedAt: null, expiresAt: null },
      createdAt: new Date('2025-01-02T00:00:00Z'),
      vendorBuiltIn: false,
    });
    // Only the token is taken; the link's own host is never requested.
    expect(nextPageToken('<https://evil.example/admin/clients?page_size=250&page_token=abc>; rel="next"')).toBe('abc');
    expect(nextPageToken('<https://x/apps?after=0oa1>; rel="next"', 'after')).toBe('0oa1');
    expect(nextPageToken('<https://x/apps?after=0oa1>; rel="self"', 'after')).toBeNull();
    expect(nextPageToken(undefined)).toBeNull();
  });
});
