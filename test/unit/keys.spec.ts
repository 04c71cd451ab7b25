import { monitorEventLoopDelay } from 'node:perf_hooks';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair } from 'jose';
import { PRIVATE_MEMBERS, KeyAlgorithm } from '@keyshift/features/keys/key-algorithms';
import { NodeKeyGenerator } from '@keyshift/features/keys/key-generator';
import { ifNoneMatchHits, jwksDocument } from '@keyshift/features/keys/jwks-document';
import { checkUploadedJwk, verifyPossession } from '@keyshift/features/keys/own-key-registration';
import { inWindow, overlapSeconds, rotationDue, windowProblem } from '@keyshift/features/keys/rotation-policy';

describe('key generation', () => {
  const generator = new NodeKeyGenerator();

  it.each([
    [{ alg: KeyAlgorithm.ES256 }, { kty: 'EC', crv: 'P-256' }],
    [{ alg: KeyAlgorithm.PS256, modulusLength: 2048 as const }, { kty: 'RSA' }],
    [{ alg: KeyAlgorithm.RS256, modulusLength: 3072 as const }, { kty: 'RSA' }],
    [{ alg: KeyAlgorithm.EdDSA }, { kty: 'OKP', crv: 'Ed25519' }],
  ])('%j: public JWK has public members only, kid is its RFC 7638 thumbprint', async (spec, shape) => {
    const key = await generator.generate(spec);
    expect(key.publicJwk).toMatchObject({ ...shape, alg: spec.alg, use: 'sig', kid: key.kid });
    for (const m of PRIVATE_MEMBERS) expect(key.publicJwk).not.toHaveProperty(m);
    const { kid: _k, alg: _a, use: _u, ...members } = key.publicJwk;
    expect(await calculateJwkThumbprint(members, 'sha256')).toBe(key.kid);
    expect(key.privateJwk.d).toBeDefined();
    if (spec.alg === KeyAlgorithm.RS256) expect(Buffer.from(key.publicJwk.n, 'base64url').length * 8).toBe(3072);
  });

  it('generates RSA-3072 keys off the event loop', async () => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, () => generator.generate({ alg: KeyAlgorithm.PS256, modulusLength: 3072 })),
    );
    const took = performance.now() - started;
    lag.disable();
    // Generated synchronously, four keys would hold the loop for the whole time; in the thread pool
    // the loop's longest stall stays a small fraction of it.
    expect(lag.max / 1e6).toBeLessThan(Math.max(50, took / 4));
  });
});

describe('JWKS document', () => {
  it('has a strong ETag that changes with the body', () => {
    const a = jwksDocument([{ kty: 'EC', kid: 'a' }]);
    const b = jwksDocument([{ kty: 'EC', kid: 'b' }]);
    expect(a.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(a.etag).not.toBe(b.etag);
    expect(JSON.parse(a.body.toString())).toEqual({ keys: [{ kty: 'EC', kid: 'a' }] });
  });

  it.each([
    [undefined, false],
    ['*', true],
    ['"x"', false],
    ['"x", "E"', true],
    ['W/"E"', true],
  ])('If-None-Match %s -> %s', (header, hit) => {
    expect(ifNoneMatchHits(header, '"E"')).toBe(hit);
  });
});

describe('rotation policy', () => {
  const day = 86_400_000;
  it('overlap covers the longer of the server cache and the served max-age, the assertion lifetime and the margin', () => {
    expect(
      overlapSeconds({
        serverJwksCacheSeconds: 60,
        servedMaxAgeSeconds: 300,
        assertionSeconds: 3600,
        marginSeconds: 60,
        policyOverlapSeconds: null,
      }),
    ).toBe(300 + 3600 + 60);
    expect(
      overlapSeconds({
        serverJwksCacheSeconds: 600,
        servedMaxAgeSeconds: 300,
        assertionSeconds: 5,
        marginSeconds: 0,
        policyOverlapSeconds: 100,
      }),
    ).toBe(605);
    expect(
      overlapSeconds({
        serverJwksCacheSeconds: 60,
        servedMaxAgeSeconds: 0,
        assertionSeconds: 5,
        marginSeconds: 1,
        policyOverlapSeconds: 900,
      }),
    ).toBe(900);
  });

  it('is due after the period, inside the window', () => {
    const activated = new Date('2026-08-01T00:00:00Z');
    const policy = { periodDays: 90, window: '* 2-4 * * 1-5', overlapSeconds: null };
    expect(rotationDue(activated, policy, new Date(activated.getTime() + 89 * day))).toBe(false);
    expect(rotationDue(activated, policy, new Date('2026-11-23T02:30:10Z'))).toBe(true); // a Monday, 02:30
    expect(rotationDue(activated, policy, new Date('2026-11-23T05:00:00Z'))).toBe(false);
    expect(rotationDue(activated, policy, new Date('2026-11-22T02:30:00Z'))).toBe(false); // Sunday
    expect(rotationDue(activated, { ...policy, window: null }, new Date('2026-11-22T12:00:00Z'))).toBe(true);
    expect(inWindow('0 3 * * *', new Date('2026-11-23T03:00:59Z'))).toBe(true);
    expect(inWindow('0 3 * * *', new Date('2026-11-23T03:01:00Z'))).toBe(false);
  });

  it('names what is wrong with a window', () => {
    expect(windowProblem('* * * * *')).toBeNull();
    expect(windowProblem('every night')).toMatch(/five-field/);
    expect(windowProblem('* * * * * *')).toMatch(/five-field/);
    expect(windowProblem('99 * * * *')).toMatch(/not a valid cron/);
  });
});

describe('bring your own key', () => {
  it('refuses private members and keys that do not fit the algorithm', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const priv = (await exportJWK(privateKey)) as Record<string, unknown>;
    const pub = (await exportJWK(publicKey)) as Record<string, unknown>;
    expect(() => checkUploadedJwk(priv, KeyAlgorithm.ES256)).toThrow(/jwk: contains private key members \(d\)/);
    expect(() => checkUploadedJwk(pub, KeyAlgorithm.PS256)).toThrow(/PS256 needs a RSA key/);
    expect(() => checkUploadedJwk({ kty: 'oct', k: 'abc' }, KeyAlgorithm.ES256)).toThrow(/\(k\)/);
    expect(() => checkUploadedJwk(pub, KeyAlgorithm.ES256)).not.toThrow();
  });

  it('accepts a proof over the nonce by the key, and nothing else', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const pub = (await exportJWK(publicKey)) as Record<string, unknown>;
    const sign = (payload: unknown, key = privateKey) =>
      new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256' }).sign(key);
    await expect(verifyPossession(pub, KeyAlgorithm.ES256, await sign({ nonce: 'n1' }), 'n1')).resolves.toBeUndefined();
    await expect(verifyPossession(pub, KeyAlgorithm.ES256, await sign({ nonce: 'n2' }), 'n1')).rejects.toThrow(
      /proof: payload must be/,
    );
    await expect(
      verifyPossession(pub, KeyAlgorithm.ES256, await sign({ nonce: 'n1' }, other.privateKey), 'n1'),
    ).rejects.toThrow(/proof: is not a valid JWS/);
  });
});
