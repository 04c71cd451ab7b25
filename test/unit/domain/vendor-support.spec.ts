import {
  AdvertisedCapabilities,
  assertionLifetimeSeconds,
  ConnectorCapabilities,
  ConnectorFacts,
  MigrationTarget,
  SIGNING_ALGS,
  usableAlg,
  usableDpopAlg,
  vendorSupport,
} from '@keyshift/domain';
import { RFC7592_LIKE } from '../../support/capabilities';

const caps = (over: Partial<AdvertisedCapabilities> = {}): AdvertisedCapabilities => ({
  tokenEndpointAuthMethods: ['client_secret_basic', 'private_key_jwt'],
  tokenEndpointAuthSigningAlgs: ['RS256'],
  dpopSigningAlgs: ['ES256'],
  registrationEndpoint: 'https://as.example.com/register',
  ...over,
});
const target = (over: Partial<MigrationTarget> = {}): MigrationTarget => ({
  authMethod: 'private_key_jwt',
  senderConstraint: 'dpop',
  strategy: 'in_place',
  ...over,
});
/** Keyshift signs aud=issuer assertions living 60 s, for a connector like RFC 7592's unless a test says otherwise. */
const rfc7592 = RFC7592_LIKE;
const connector = (
  over: Partial<ConnectorCapabilities> = {},
  assertion: Partial<ConnectorFacts['assertion']> = {},
): ConnectorFacts => ({
  capabilities: { ...rfc7592, ...over },
  assertion: { audience: 'issuer', lifetimeSeconds: 60, ...assertion },
});
const REGISTRATION_ENDPOINT_MISSING =
  'registration_endpoint (RFC 7591), needed by a connector that manages registrations by RFC 7592';

describe('vendor support (phase 1 evidence)', () => {
  it('is supported when the server advertises everything the migration needs', () => {
    expect(vendorSupport(caps(), target(), connector())).toEqual({ kind: 'vendor_support', supported: true });
  });

  it('names every missing piece, in order', () => {
    const none = caps({
      tokenEndpointAuthMethods: ['client_secret_basic'],
      tokenEndpointAuthSigningAlgs: ['HS256'],
      dpopSigningAlgs: ['EdDSA'],
      registrationEndpoint: null,
    });
    expect(vendorSupport(none, target(), connector())).toEqual({
      kind: 'vendor_support',
      supported: false,
      missing: [
        'token_endpoint_auth_method private_key_jwt',
        'a client assertion alg Keyshift signs with (ES256, PS256, RS256, EdDSA)',
        'DPoP with a proof alg Keyshift signs with (ES256, Ed25519, PS256, RS256)',
        REGISTRATION_ENDPOINT_MISSING,
      ],
    });
  });

  it.each([
    [
      'auth method',
      caps({ tokenEndpointAuthMethods: ['client_secret_basic'] }),
      'token_endpoint_auth_method private_key_jwt',
    ],
    [
      'assertion alg',
      caps({ tokenEndpointAuthSigningAlgs: [] }),
      'a client assertion alg Keyshift signs with (ES256, PS256, RS256, EdDSA)',
    ],
    [
      'DPoP alg',
      caps({ dpopSigningAlgs: [] }),
      'DPoP with a proof alg Keyshift signs with (ES256, Ed25519, PS256, RS256)',
    ],
    ['registration endpoint', caps({ registrationEndpoint: null }), REGISTRATION_ENDPOINT_MISSING],
  ])('misses only the %s when only that is absent', (_what, c, missing) => {
    expect(vendorSupport(c, target(), connector())).toEqual({
      kind: 'vendor_support',
      supported: false,
      missing: [missing],
    });
  });

  it('asks only for what the target needs', () => {
    const bare = caps({
      tokenEndpointAuthMethods: ['tls_client_auth'],
      tokenEndpointAuthSigningAlgs: [],
      dpopSigningAlgs: [],
      registrationEndpoint: null,
    });
    // Another auth method needs no assertion alg; no sender constraint needs no DPoP; a connector
    // that sends nothing to the server (an operator's) needs no registration endpoint.
    expect(
      vendorSupport(
        bare,
        target({ authMethod: 'tls_client_auth', senderConstraint: 'none' }),
        connector({ automated: false, readable: false, credential: 'none', canRegister: false }),
      ),
    ).toEqual({
      kind: 'vendor_support',
      supported: true,
    });
  });
});

describe('signing algs', () => {
  it('lists the algs the signers write, in order of preference', () => {
    expect(SIGNING_ALGS).toEqual({
      clientAssertion: ['ES256', 'PS256', 'RS256', 'EdDSA'],
      dpopProof: ['ES256', 'Ed25519', 'PS256', 'RS256'],
    });
  });

  it('picks the first client-assertion alg in Keyshift’s order that the server also advertises', () => {
    expect(usableAlg(['RS256', 'PS256', 'EdDSA'])).toBe('PS256');
    expect(usableAlg(['EdDSA'])).toBe('EdDSA');
    expect(usableAlg(['HS256', 'Ed25519'])).toBeNull();
    expect(usableAlg([])).toBeNull();
  });

  it('picks the first DPoP proof alg in Keyshift’s order that the server also advertises', () => {
    expect(usableDpopAlg(['RS256', 'Ed25519'])).toBe('Ed25519');
    expect(usableDpopAlg(['PS256', 'RS256', 'ES256'])).toBe('ES256');
    expect(usableDpopAlg(['EdDSA'])).toBeNull();
    expect(usableDpopAlg([])).toBeNull();
  });

  describe('reads the connector’s capabilities, never its type', () => {
    const only = (c: ConnectorFacts, t: Partial<MigrationTarget> = {}) => vendorSupport(caps(), target(t), c);

    it.each<[string, ConnectorFacts, Partial<MigrationTarget>, string]>([
      [
        'an assertion profile with no alg Keyshift signs with among those advertised',
        connector({ assertion: { ...rfc7592.assertion, algs: ['HS256'] } }),
        {},
        'a client assertion alg Keyshift signs with (ES256, PS256, RS256, EdDSA)',
      ],
      [
        'an aud the server does not accept',
        connector({ assertion: { ...rfc7592.assertion, audiences: ['token_endpoint'] } }),
        {},
        'client assertions with aud issuer (the server accepts token_endpoint)',
      ],
      [
        'a lifetime longer than the server accepts',
        connector({ assertion: { ...rfc7592.assertion, maxLifetimeSeconds: 30 } }),
        {},
        "client assertions living 60 s (the server accepts at most 30 s: lower the server's maxAssertionSeconds)",
      ],
      [
        'a typ Keyshift does not write',
        connector({ assertion: { ...rfc7592.assertion, typ: 'client-authentication+jwt' } }),
        {},
        'client assertions typed client-authentication+jwt (Keyshift writes JWT)',
      ],
      [
        'no way to require DPoP',
        connector({ senderConstraints: { dpop: false, mtls: false } }),
        {},
        'a way for the connector to require DPoP-bound tokens for the client',
      ],
      [
        'key delivery without jwks_uri',
        connector({ keyDelivery: ['jwks', 'pem'] }),
        {},
        'key delivery by jwks_uri through the connector (Keyshift registers its hosted JWKS)',
      ],
      [
        'in place, a secret retired by removing one credential among several',
        connector({ secretRetirement: 'remove_credential' }),
        {},
        'secret retirement by the method switch, a regeneration or a delete (the connector retires secrets by removing one credential among several, not built yet)',
      ],
      [
        'a successor whose original the connector cannot delete',
        connector({ canDelete: false }),
        { strategy: 'successor' },
        'deleting the original registration through the connector, needed by the successor strategy',
      ],
      [
        'no registrations for a successor',
        connector({ canRegister: false }),
        { strategy: 'successor' },
        'new registrations through the connector, needed by the successor strategy',
      ],
    ])('refuses %s', (_what, facts, t, missing) => {
      expect(only(facts, t)).toEqual({ kind: 'vendor_support', supported: false, missing: [missing] });
    });

    it('accepts the same connector once the gap is closed', () => {
      expect(only(connector({ assertion: { ...rfc7592.assertion, algs: ['RS256'] } }))).toMatchObject({
        supported: true,
      });
      expect(only(connector({ assertion: { ...rfc7592.assertion, maxLifetimeSeconds: 60 } }))).toMatchObject({
        supported: true,
      });
      expect(only(connector({ assertion: { ...rfc7592.assertion, typ: 'JWT' } }))).toMatchObject({ supported: true });
      expect(only(connector({ canRegister: false }), { strategy: 'in_place' })).toMatchObject({ supported: true });
      expect(only(connector({ canDelete: false }), { strategy: 'in_place' })).toMatchObject({ supported: true });
      // A successor's secret dies with the original registration: how the connector retires secrets does not matter.
      expect(only(connector({ secretRetirement: 'remove_credential' }), { strategy: 'successor' })).toMatchObject({
        supported: true,
      });
      // In place, a secret the server still stores after the switch is regenerated or deleted at revocation.
      for (const secretRetirement of ['regenerate', 'delete'] as const) {
        expect(only(connector({ secretRetirement }), { strategy: 'in_place' })).toMatchObject({ supported: true });
      }
      expect(
        only(connector({ senderConstraints: { dpop: false, mtls: false } }), { senderConstraint: 'none' }),
      ).toMatchObject({
        supported: true,
      });
      // An admin-API connector does not need RFC 7591's registration endpoint.
      expect(
        vendorSupport(caps({ registrationEndpoint: null }), target(), connector({ credential: 'server_admin' })),
      ).toMatchObject({
        supported: true,
      });
    });
  });

  it('signs assertions for the server’s longest accepted lifetime, never for more than a minute', () => {
    expect(assertionLifetimeSeconds(30)).toBe(30);
    expect(assertionLifetimeSeconds(60)).toBe(60);
    expect(assertionLifetimeSeconds(300)).toBe(60);
  });
});
