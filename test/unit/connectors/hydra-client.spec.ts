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

describe('Hydra mapping, case by case', () => {
  const never = () => {
    throw new Error('no secret should be made');
  };

  it('moves between inline keys and a URL, sets and unsets the alg, switches the method, in one patch', () => {
    expect(
      hydraPatch(
        { jwks_uri: 'https://old/jwks.json', token_endpoint_auth_signing_alg: 'RS256' },
        {
          jwks: { keys: [{ kid: 'k1' }] },
          token_endpoint_auth_method: 'client_secret_post',
          token_endpoint_auth_signing_alg: null,
        },
        never,
      ),
    ).toEqual([
      { op: 'remove', path: '/jwks_uri' },
      { op: 'add', path: '/jwks', value: { keys: [{ kid: 'k1' }] } },
      { op: 'add', path: '/token_endpoint_auth_method', value: 'client_secret_post' },
      { op: 'remove', path: '/token_endpoint_auth_signing_alg' },
    ]);
    expect(
      hydraPatch({ jwks_uri: 'https://old' }, { jwks_uri: null, token_endpoint_auth_signing_alg: 'PS256' }, never),
    ).toEqual([
      { op: 'remove', path: '/jwks_uri' },
      { op: 'add', path: '/token_endpoint_auth_signing_alg', value: 'PS256' },
    ]);
    expect(hydraPatch({ jwks: null }, { jwks_uri: 'https://k' }, never)).toEqual([
      { op: 'add', path: '/jwks_uri', value: 'https://k' },
    ]);
    expect(hydraPatch({}, {}, never)).toEqual([]);
  });

  it('lists every shape of client it may meet', () => {
    expect(hydraListed({ client_secret: 'x' })).toBeNull();
    expect(
      hydraListed({
        client_id: 'k',
        client_name: '',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{}, {}] },
        grant_types: ['client_credentials', 7],
        created_at: 'not a date',
      }),
    ).toEqual({
      clientId: 'k',
      name: null,
      authMethod: 'private_key_jwt',
      grantTypes: ['client_credentials'],
      secrets: { count: 0, issuedAt: null, expiresAt: null },
      createdAt: null,
      keys: { delivery: 'jwks', count: 2 },
      vendorBuiltIn: false,
    });
    expect(
      hydraListed({
        client_id: 'u',
        client_name: 'billing',
        token_endpoint_auth_method: 'client_secret_post',
        jwks_uri: 'https://k/jwks.json',
        client_secret_expires_at: 1_900_000_000,
      }),
    ).toMatchObject({
      name: 'billing',
      grantTypes: [],
      secrets: { count: 1, expiresAt: new Date(1_900_000_000_000) },
      keys: { delivery: 'jwks_uri', count: null },
    });
    expect(hydraListed({ client_id: 'jwt', token_endpoint_auth_method: 'client_secret_jwt' })!.secrets.count).toBe(1);
    expect(hydraListed({ client_id: 'none', token_endpoint_auth_method: 'none' })!.secrets.count).toBe(0);
  });

  it('reads next-page links in the forms servers send', () => {
    expect(nextPageToken(['<https://x/c?page_token=a>; rel="prev"', '<https://x/c?page_token=b>; rel="next"'])).toBe(
      'b',
    );
    expect(nextPageToken('<https://x/c?page_token=a>; rel=prev, </c?page_token=z>;rel=next')).toBe('z');
    expect(nextPageToken('<https://x/c>; rel="next"')).toBeNull();
  });
});
