import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  asListedClient,
  asRegistrationMetadata,
  isOktaApp,
  newApp,
  OktaApp,
  OktaSecret,
  withChange,
} from '@keyshift/features/connectors/okta/okta-app';

const fixture = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'fixtures', 'vendors', 'okta', 'oidc-app.json'), 'utf8'),
) as { app: OktaApp; secrets: OktaSecret[] };

describe('Okta OpenID Connect apps in RFC 7591 terms', () => {
  it('reads an app as Okta documents it', () => {
    expect(asRegistrationMetadata(fixture.app)).toEqual({
      client_id: '0oa1gjh63g214q0Hq0g4',
      client_name: 'Billing API',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      dpop_bound_access_tokens: false,
    });
  });

  it('changes the whole app for a full-replacement PUT: everything else kept, the secret never sent back', () => {
    const withSecret = structuredClone(fixture.app);
    withSecret.credentials!.oauthClient!.client_secret = 'shown-once';
    const staged = withChange(withSecret, { jwks_uri: 'https://keyshift.example.com/jwks/a.json' });
    expect(staged.credentials!.oauthClient).not.toHaveProperty('client_secret');
    expect(staged).toMatchObject({
      label: 'Billing API',
      signOnMode: 'OPENID_CONNECT',
      accessibility: fixture.app.accessibility,
      settings: { oauthClient: { jwks_uri: 'https://keyshift.example.com/jwks/a.json', consent_method: 'REQUIRED' } },
    });
    const switched = withChange(staged, {
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      dpop_bound_access_tokens: true,
    });
    expect(switched.credentials!.oauthClient!.token_endpoint_auth_method).toBe('private_key_jwt');
    expect(switched.settings!.oauthClient!.dpop_bound_access_tokens).toBe(true);
    // Okta has no alg pin on an app: the change is not invented into a field it does not have.
    expect(JSON.stringify(switched)).not.toContain('token_endpoint_auth_signing_alg');
    const inline = withChange(switched, { jwks: { keys: [{ kty: 'EC', kid: 'k1' }] } });
    expect(inline.settings!.oauthClient).not.toHaveProperty('jwks_uri');
    expect(fixture.app.settings!.oauthClient).not.toHaveProperty('jwks_uri'); // the input is not changed
  });

  it("lists an app with its active secrets and the oldest one's date", () => {
    expect(asListedClient(fixture.app, fixture.secrets)).toMatchObject({
      clientId: '0oa1gjh63g214q0Hq0g4',
      authMethod: 'client_secret_basic',
      secrets: { count: 1, issuedAt: new Date('2024-03-18T12:00:00.000Z'), expiresAt: null },
      createdAt: new Date('2024-03-18T12:00:00.000Z'),
      keys: { delivery: null },
      vendorBuiltIn: false,
    });
    expect(asListedClient(fixture.app, null).secrets.count).toBeNull();
  });

  it('creates a successor as an API Services app holding the key', () => {
    expect(
      newApp({ client_name: 'billing (successor)', jwks_uri: 'https://k/b.json', dpop_bound_access_tokens: true }),
    ).toEqual({
      name: 'oidc_client',
      label: 'billing (successor)',
      signOnMode: 'OPENID_CONNECT',
      credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt', autoKeyRotation: true } },
      settings: {
        oauthClient: {
          application_type: 'service',
          grant_types: ['client_credentials'],
          response_types: ['token'],
          jwks_uri: 'https://k/b.json',
          dpop_bound_access_tokens: true,
        },
      },
    });
  });
});

describe('Okta apps, case by case', () => {
  it('reads an app with nothing optional as Okta defaults it', () => {
    expect(asRegistrationMetadata({ id: '0oa9' })).toEqual({
      client_id: '0oa9',
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: false,
    });
    expect(isOktaApp({ id: 'x' })).toBe(true);
    for (const bad of [null, [], { label: 'x' }, 'x']) expect(isOktaApp(bad)).toBe(false);
  });

  it('builds the parts an app lacks, and removes a key URL on a rollback', () => {
    expect(withChange({ id: '0oa9' }, { jwks_uri: 'https://k/a.json', dpop_bound_access_tokens: false })).toEqual({
      id: '0oa9',
      credentials: { oauthClient: {} },
      settings: { oauthClient: { jwks_uri: 'https://k/a.json', dpop_bound_access_tokens: false } },
    });
    const staged = withChange(fixture.app, { jwks_uri: 'https://k/a.json' });
    expect(withChange(staged, { jwks_uri: null }).settings!.oauthClient).not.toHaveProperty('jwks_uri');
    expect(withChange(staged, {}).settings!.oauthClient!.jwks_uri).toBe('https://k/a.json');
  });

  it('lists keys as Okta holds them, and ignores dates it cannot read', () => {
    const byUri = withChange(fixture.app, { jwks_uri: 'https://k/a.json' });
    expect(asListedClient(byUri, []).keys).toEqual({ delivery: 'jwks_uri', count: null });
    const inline = withChange(fixture.app, { jwks: { keys: [{ kid: 'a' }, { kid: 'b' }] } });
    expect(asListedClient(inline, []).keys).toEqual({ delivery: 'jwks', count: 2 });
    const undated = { ...fixture.app, created: 'yesterday', label: undefined };
    expect(asListedClient(undated, [{ id: 's', status: 'ACTIVE', created: 'soon' }])).toMatchObject({
      name: null,
      createdAt: null,
      secrets: { count: 1, issuedAt: null },
    });
    expect(newApp({}).label).toBe('Keyshift successor');
    expect((newApp({}) as OktaApp).settings!.oauthClient).not.toHaveProperty('jwks_uri');
  });
});
