import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  asListedClient,
  asRegistrationMetadata,
  isKeycloakClient,
  KeycloakClient,
  newClient,
  withChange,
} from '@keyshift/features/connectors/keycloak/keycloak-representation';

const fixture = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'fixtures', 'vendors', 'keycloak', 'client-representation.json'), 'utf8'),
) as Record<'secret_only' | 'signed_jwt_with_jwks_url', KeycloakClient>;

describe('Keycloak client representations in RFC 7591 terms', () => {
  it('reads a secret client as Keycloak documents it, without its secret', () => {
    const metadata = asRegistrationMetadata(fixture.secret_only);
    expect(metadata).toEqual({
      client_id: 'billing-api',
      client_name: 'Billing API',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      dpop_bound_access_tokens: false,
    });
    expect(JSON.stringify(metadata)).not.toContain(fixture.secret_only.secret);
  });

  it('reads a signed-JWT client: the JWKS URL only when use.jwks.url is on, the pinned alg, DPoP', () => {
    expect(asRegistrationMetadata(fixture.signed_jwt_with_jwks_url)).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://keyshift.example.com/jwks/01J9Z8.json',
      token_endpoint_auth_signing_alg: 'ES256',
      dpop_bound_access_tokens: true,
    });
    const off = {
      ...fixture.signed_jwt_with_jwks_url,
      attributes: { 'use.jwks.url': 'false', 'jwks.url': 'https://old' },
    };
    expect(asRegistrationMetadata(off)).not.toHaveProperty('jwks_uri');
  });

  it('stages the key beside the secret, switches the authenticator, and never sends the secret back', () => {
    const staged = withChange(fixture.secret_only, { jwks_uri: 'https://keyshift.example.com/jwks/a.json' });
    expect(staged).not.toHaveProperty('secret');
    expect(staged.clientAuthenticatorType).toBe('client-secret');
    expect(staged.attributes).toMatchObject({
      // Other attributes are sent back as they were (Keycloak merges, but a full body is what it documents).
      'client.secret.creation.time': '1764979200',
      'use.jwks.url': 'true',
      'jwks.url': 'https://keyshift.example.com/jwks/a.json',
      'use.jwks.string': 'false',
    });
    const switched = withChange(staged, {
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
    });
    expect(switched.clientAuthenticatorType).toBe('client-jwt');
    expect(switched.attributes!['token.endpoint.auth.signing.alg']).toBe('ES256');
    // A rollback: PUT merges attributes, so removed fields are turned off, not left out.
    const back = withChange(switched, {
      token_endpoint_auth_method: 'client_secret_post',
      token_endpoint_auth_signing_alg: null,
      jwks_uri: null,
    });
    expect(back.clientAuthenticatorType).toBe('client-secret');
    expect(back.attributes).toMatchObject({
      'use.jwks.url': 'false',
      'jwks.url': '',
      'token.endpoint.auth.signing.alg': '',
    });
    expect(fixture.secret_only.attributes).not.toHaveProperty('use.jwks.url'); // the input is not changed
  });

  it('moves a key set between the JWKS URL and an inline JWKS', () => {
    const inline = withChange(fixture.signed_jwt_with_jwks_url, { jwks: { keys: [{ kty: 'EC', kid: 'k1' }] } });
    expect(inline.attributes).toMatchObject({ 'use.jwks.string': 'true', 'use.jwks.url': 'false' });
    expect(asRegistrationMetadata(inline)).toMatchObject({ jwks: { keys: [{ kid: 'k1' }] } });
    expect(asRegistrationMetadata(inline)).not.toHaveProperty('jwks_uri');
  });

  it('creates a successor as a confidential service-account client holding the key', () => {
    expect(
      newClient('keyshift-1', {
        client_name: 'billing-api (Keyshift successor)',
        jwks_uri: 'https://k/jwks/b.json',
        token_endpoint_auth_signing_alg: 'PS256',
        dpop_bound_access_tokens: false,
      }),
    ).toEqual({
      clientId: 'keyshift-1',
      name: 'billing-api (Keyshift successor)',
      protocol: 'openid-connect',
      publicClient: false,
      enabled: true,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      clientAuthenticatorType: 'client-jwt',
      attributes: {
        'use.jwks.url': 'true',
        'jwks.url': 'https://k/jwks/b.json',
        'use.jwks.string': 'false',
        'token.endpoint.auth.signing.alg': 'PS256',
        'dpop.bound.access.tokens': 'false',
      },
    });
  });
});

describe('Keycloak clients as estate discovery lists them', () => {
  it("a secret client: one secret, dated by Keycloak's own attributes", () => {
    const listed = asListedClient({
      ...fixture.secret_only,
      attributes: { 'client.secret.creation.time': '1764979200', 'client.secret.expiration.time': '1767571200' },
    });
    expect(listed).toEqual({
      clientId: 'billing-api',
      name: 'Billing API',
      authMethod: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      secrets: { count: 1, issuedAt: new Date(1_764_979_200_000), expiresAt: new Date(1_767_571_200_000) },
      createdAt: null,
      keys: { delivery: null, count: null },
      vendorBuiltIn: false,
    });
    expect(asListedClient({ ...fixture.secret_only, attributes: {} }).secrets).toEqual({
      count: 1,
      issuedAt: null,
      expiresAt: null,
    });
  });

  it("a key client, a public one, the realm's own clients", () => {
    expect(asListedClient(fixture.signed_jwt_with_jwks_url)).toMatchObject({
      authMethod: 'private_key_jwt',
      secrets: { count: 0 },
      keys: { delivery: 'jwks_uri', count: null },
    });
    const inline = {
      ...fixture.signed_jwt_with_jwks_url,
      attributes: { 'use.jwks.string': 'true', 'jwks.string': '{"keys":[{},{},{}]}' },
    };
    expect(asListedClient(inline).keys).toEqual({ delivery: 'jwks', count: 3 });
    const broken = { ...inline, attributes: { 'use.jwks.string': 'true', 'jwks.string': '{not json' } };
    expect(asListedClient(broken).keys).toEqual({ delivery: 'jwks', count: null });
    expect(asRegistrationMetadata(broken)).not.toHaveProperty('jwks');
    const cert = { ...fixture.signed_jwt_with_jwks_url, attributes: { 'jwt.credential.certificate': 'MIIB' } };
    expect(asListedClient(cert).keys).toEqual({ delivery: 'certificate', count: 1 });
    expect(asListedClient({ id: 'p', clientId: 'spa', publicClient: true })).toMatchObject({
      authMethod: 'none',
      grantTypes: [],
      secrets: { count: 0 },
    });
    for (const builtIn of [
      'account',
      'account-console',
      'admin-cli',
      'broker',
      'realm-management',
      'security-admin-console',
    ]) {
      expect(asListedClient({ id: builtIn, clientId: builtIn }).vendorBuiltIn).toBe(true);
    }
    expect(asListedClient({ id: 'x', clientId: 'x', clientAuthenticatorType: 'client-x509' }).authMethod).toBe(
      'tls_client_auth',
    );
    expect(asListedClient({ id: 'y', clientId: 'y', clientAuthenticatorType: 'something-new' }).authMethod).toBeNull();
  });

  it('reads a client with no authenticator as Keycloak defaults it (client-secret), and DPoP off unless "true"', () => {
    expect(
      asRegistrationMetadata({ id: 'z', clientId: 'z', attributes: { 'dpop.bound.access.tokens': 'TRUE' } }),
    ).toEqual({
      client_id: 'z',
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: false,
    });
    expect(isKeycloakClient({ id: 'a', clientId: 'b' })).toBe(true);
    for (const bad of [null, [], { id: 'a' }, { clientId: 'b' }, 'x']) expect(isKeycloakClient(bad)).toBe(false);
  });

  it('turns DPoP off, and a secret method on, in Keycloak attribute terms', () => {
    const next = withChange(fixture.signed_jwt_with_jwks_url, {
      dpop_bound_access_tokens: false,
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(next.attributes!['dpop.bound.access.tokens']).toBe('false');
    expect(next.clientAuthenticatorType).toBe('client-secret');
    expect(withChange({ id: 'n', clientId: 'n' }, {}).attributes).toEqual({});
    expect(newClient('keyshift-2', {}).name).toBeUndefined();
  });
});
