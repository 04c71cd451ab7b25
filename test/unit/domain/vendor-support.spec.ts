import {
  AdvertisedCapabilities,
  MigrationTarget,
  SIGNING_ALGS,
  usableAlg,
  usableDpopAlg,
  vendorSupport,
} from '@keyshift/domain';

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
  connector: 'rfc7592',
  ...over,
});

describe('vendor support (phase 1 evidence)', () => {
  it('is supported when the server advertises everything the migration needs', () => {
    expect(vendorSupport(caps(), target())).toEqual({ kind: 'vendor_support', supported: true });
  });

  it('names every missing piece, in order', () => {
    const none = caps({
      tokenEndpointAuthMethods: ['client_secret_basic'],
      tokenEndpointAuthSigningAlgs: ['HS256'],
      dpopSigningAlgs: ['EdDSA'],
      registrationEndpoint: null,
    });
    expect(vendorSupport(none, target())).toEqual({
      kind: 'vendor_support',
      supported: false,
      missing: [
        'token_endpoint_auth_method private_key_jwt',
        'a client assertion alg Keyshift signs with (ES256, PS256, RS256, EdDSA)',
        'DPoP with a proof alg Keyshift signs with (ES256, Ed25519, PS256, RS256)',
        'registration_endpoint (RFC 7591), needed by the rfc7592 connector',
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
    [
      'registration endpoint',
      caps({ registrationEndpoint: null }),
      'registration_endpoint (RFC 7591), needed by the rfc7592 connector',
    ],
  ])('misses only the %s when only that is absent', (_what, c, missing) => {
    expect(vendorSupport(c, target())).toEqual({ kind: 'vendor_support', supported: false, missing: [missing] });
  });

  it('asks only for what the target needs', () => {
    const bare = caps({
      tokenEndpointAuthMethods: ['tls_client_auth'],
      tokenEndpointAuthSigningAlgs: [],
      dpopSigningAlgs: [],
      registrationEndpoint: null,
    });
    // Another auth method needs no assertion alg; no sender constraint needs no DPoP; manual needs no registration endpoint.
    expect(
      vendorSupport(bare, target({ authMethod: 'tls_client_auth', senderConstraint: 'none', connector: 'manual' })),
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
});
