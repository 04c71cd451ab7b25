import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { buildClientAssertion } from '@keyshift/features/probes/client-assertion';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { classifyTokenResponse, retryAfterSeconds } from '@keyshift/features/probes/token-response';
import { tokenRequest } from '@keyshift/features/probes/token-request';
import { probeBatching } from '@keyshift/features/probes/probe-batching';
import fc from 'fast-check';

const NOW = new Date('2026-11-23T12:00:00Z');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('classifyTokenResponse', () => {
  it.each([
    [200, {}, json({ access_token: 'x', token_type: 'DPoP', expires_in: 60 }), ProbeOutcome.Ok, null],
    [
      401,
      {},
      json({ error: 'invalid_client', error_description: 'client authentication failed' }),
      ProbeOutcome.Rejected,
      'invalid_client',
    ],
    [400, {}, json({ error: 'invalid_dpop_proof' }), ProbeOutcome.Rejected, 'invalid_dpop_proof'],
    [429, { 'retry-after': '7' }, Buffer.alloc(0), ProbeOutcome.RateLimited, null],
    [503, {}, Buffer.from('down'), ProbeOutcome.ServerError, null],
    [200, {}, Buffer.from('<html>'), ProbeOutcome.InvalidResponse, null],
    [200, {}, json({ token_type: 'Bearer' }), ProbeOutcome.InvalidResponse, null],
    [404, {}, Buffer.from('nope'), ProbeOutcome.InvalidResponse, null],
    [400, {}, Buffer.from('not json'), ProbeOutcome.InvalidResponse, null],
  ])('HTTP %i %j -> %s', (status, headers, body, outcome, errorCode) => {
    const c = classifyTokenResponse(status, headers, body, NOW);
    expect(c.outcome).toBe(outcome);
    expect(c.errorCode).toBe(errorCode);
    expect(JSON.stringify(c)).not.toContain('"x"'); // the access token is never carried
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterSeconds('120', NOW)).toBe(120);
    expect(retryAfterSeconds(new Date(NOW.getTime() + 30_000).toUTCString(), NOW)).toBe(30);
    expect(retryAfterSeconds('soon', NOW)).toBeNull();
  });
});

describe('buildClientAssertion (RFC 7523)', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('sets iss = sub = client_id, aud, a unique jti, a backdated iat, exp at most 60 s ahead, and kid', async () => {
    const make = (serverMaxSeconds: number) =>
      buildClientAssertion({
        clientId: 'c-1',
        audience: 'https://as.example',
        key: { kid: 'k-1', alg: 'ES256', privateKey },
        serverMaxSeconds,
        now: NOW,
      });
    const [a, b] = [await make(3600), await make(3600)];
    const claims = decodeJwt(a);
    const now = NOW.getTime() / 1000;
    expect(decodeProtectedHeader(a)).toEqual({ alg: 'ES256', kid: 'k-1', typ: 'JWT' });
    expect(claims).toMatchObject({ iss: 'c-1', sub: 'c-1', aud: 'https://as.example' });
    expect(claims.iat).toBe(now - 5);
    expect(claims.exp).toBe(now + 60);
    expect(claims.jti).not.toBe(decodeJwt(b).jti);
    expect(decodeJwt(await make(30)).exp).toBe(now + 30);
  });
});

describe('tokenRequest', () => {
  it('form-urlencodes Basic credentials (RFC 6749 §2.3.1) and keeps secrets out of the URL', () => {
    const basic = tokenRequest({ method: ProbeMethod.ClientSecretBasic, clientId: 'a:b', secret: 'p@ss word' });
    expect(Buffer.from(basic.headers.authorization.slice(6), 'base64').toString()).toBe('a%3Ab:p%40ss+word');
    expect(basic.body).toBe('grant_type=client_credentials');
    const post = tokenRequest({ method: ProbeMethod.ClientSecretPost, clientId: 'a', secret: 's' });
    expect(new URLSearchParams(post.body).get('client_secret')).toBe('s');
  });
});

describe('probeBatching', () => {
  it.each([
    [
      { ratePerSecond: 10_000, concurrency: 64 },
      { probesPerJob: 8, jobConcurrency: 8, jobsPerSecond: 1250 },
    ],
    [
      { ratePerSecond: 40, concurrency: 8 },
      { probesPerJob: 4, jobConcurrency: 2, jobsPerSecond: 10 },
    ],
    [
      { ratePerSecond: 5, concurrency: 2 },
      { probesPerJob: 1, jobConcurrency: 2, jobsPerSecond: 5 },
    ],
    [
      { ratePerSecond: 1_000, concurrency: 3 },
      { probesPerJob: 3, jobConcurrency: 1, jobsPerSecond: 1000 / 3 },
    ],
  ])('%j -> %j', (limits, expected) => {
    expect(probeBatching(limits)).toEqual(expected);
  });

  it('never lets jobs exceed the server’s probe rate or concurrency', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 1_000 }), (rate, concurrency) => {
        const b = probeBatching({ ratePerSecond: rate, concurrency });
        expect(b.probesPerJob).toBeGreaterThanOrEqual(1);
        expect(b.jobConcurrency * b.probesPerJob).toBeLessThanOrEqual(Math.max(concurrency, 1));
        // One job never carries more than a tenth of a second's budget (or one probe).
        expect(b.probesPerJob).toBeLessThanOrEqual(Math.max(1, rate / 10));
      }),
    );
  });
});
