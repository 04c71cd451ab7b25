import { createPrivateKey } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { generateKeyPair, generateProof } from 'dpop';
import { CLIENT_KEY_ALGS, ConnectorFacts, SIGNING_ALGS, usableDpopAlg, vendorSupport } from '@keyshift/domain';
import { KeyAlgorithm } from '@keyshift/features/keys/key-algorithms';
import { NodeKeyGenerator } from '@keyshift/features/keys/key-generator';
import { buildClientAssertion } from '@keyshift/features/probes/client-assertion';

/**
 * The alg table in libs/domain is what the vendor check judges servers by; these tests hold it to
 * what the signing libraries really write, so a server the check passes gets the alg it asked for.
 */
describe('one signing-alg table for the vendor check and the signers', () => {
  it.each(SIGNING_ALGS.dpopProof)('a DPoP proof for %s carries exactly that alg (panva dpop)', async (alg) => {
    const keyPair = await generateKeyPair(alg);
    const proof = await generateProof(keyPair, 'https://as.example.com/token', 'POST');
    expect(decodeProtectedHeader(proof)).toMatchObject({ alg, typ: 'dpop+jwt' });
  });

  it('lists no DPoP alg the dpop library cannot write: EdDSA is not one of them', async () => {
    await expect(generateKeyPair('EdDSA' as never)).rejects.toThrow();
    expect(SIGNING_ALGS.dpopProof).not.toContain('EdDSA');
  });

  it.each(SIGNING_ALGS.clientAssertion)('a client assertion for %s carries exactly that alg (jose)', async (alg) => {
    const key = await new NodeKeyGenerator().generate({ alg: alg as KeyAlgorithm });
    const assertion = await buildClientAssertion({
      clientId: 'c',
      audience: 'https://as.example.com',
      key: { kid: key.kid, alg, privateKey: createPrivateKey({ key: key.privateJwk as never, format: 'jwk' }) },
      serverMaxSeconds: 60,
      now: new Date(),
    });
    expect(decodeProtectedHeader(assertion).alg).toBe(alg);
  });

  it('generates keys for exactly the client-assertion algs', () => {
    expect(Object.values(KeyAlgorithm).sort()).toEqual([...SIGNING_ALGS.clientAssertion].sort());
    expect(Object.keys(CLIENT_KEY_ALGS)).toEqual([...SIGNING_ALGS.clientAssertion]);
  });

  it.each(SIGNING_ALGS.clientAssertion)(
    'a generated %s key has the key type and curve the table names',
    async (alg) => {
      const key = await new NodeKeyGenerator().generate({ alg });
      const spec: { kty: string; crv?: string } = CLIENT_KEY_ALGS[alg];
      expect(key.publicJwk.kty).toBe(spec.kty);
      expect(key.publicJwk.crv).toBe(spec.crv);
    },
  );

  it.each([
    [['EdDSA'], null],
    [['Ed25519'], 'Ed25519'],
    [['EdDSA', 'RS256'], 'RS256'],
    [['PS256', 'ES256'], 'ES256'],
    [[], null],
  ])('DPoP algs advertised %j -> Keyshift signs with %s', (advertised, expected) => {
    expect(usableDpopAlg(advertised)).toBe(expected);
  });

  it('blocks DPoP at a server that advertises only EdDSA, naming the algs Keyshift signs proofs with', () => {
    const caps = {
      tokenEndpointAuthMethods: ['private_key_jwt'],
      tokenEndpointAuthSigningAlgs: ['EdDSA'],
      dpopSigningAlgs: ['EdDSA'],
      registrationEndpoint: 'https://as.example.com/reg',
    };
    const target = { authMethod: 'private_key_jwt', senderConstraint: 'dpop' as const, strategy: 'in_place' as const };
    const connector: ConnectorFacts = {
      capabilities: {
        automated: true,
        readable: true,
        credential: 'registration_access_token',
        overlappingMethods: false,
        keyDelivery: ['jwks_uri'],
        secretRetirement: 'method_switch',
        canRegister: true,
        canDelete: true,
        senderConstraints: { dpop: true, mtls: false },
        assertion: { audiences: ['issuer'], maxLifetimeSeconds: null, algs: null, typ: null },
        adminApi: null,
      },
      assertion: { audience: 'issuer', lifetimeSeconds: 60 },
    };
    expect(vendorSupport(caps, target, connector)).toEqual({
      kind: 'vendor_support',
      supported: false,
      missing: ['DPoP with a proof alg Keyshift signs with (ES256, Ed25519, PS256, RS256)'],
    });
    // EdDSA stays fine for client assertions, where jose writes it.
    expect(vendorSupport({ ...caps, dpopSigningAlgs: ['Ed25519'] }, target, connector)).toEqual({
      kind: 'vendor_support',
      supported: true,
    });
  });
});
