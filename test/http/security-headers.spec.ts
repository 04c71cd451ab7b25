import { KeyRotationSteps } from '@keyshift/features/keys/key-rotation-steps';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';
import { waitFor } from '../support/wait-for';

type Res = { status: number; headers: Record<string, string>; text: string };

describe('security headers on every answer', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let jwksPath: string;

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    const serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body
      .id;
    const clientId = (await api.http().post('/v1/clients').set(admin).send(aClient(serverId))).body.id;
    const rotation = await api.http().post(`/v1/clients/${clientId}/keys/rotate`).set(admin).send({ alg: 'ES256' });
    await api.app.get(KeyRotationSteps).run(rotation.body.id);
    jwksPath = new URL((await api.http().get(`/v1/clients/${clientId}/keys`).set(admin)).body.jwksUri).pathname;
    await waitFor(
      () => api.http().get(jwksPath),
      (r) => r.status === 200,
    );
  });
  afterAll(() => api.close());

  const get = (path: string, headers: Record<string, string> = {}) =>
    api.http().get(path).set(headers) as unknown as Promise<Res>;

  /** Every route kind: [name, request, expected status, under /v1]. */
  const kinds: [string, () => Promise<Res>, number, boolean][] = [
    ['a /v1 JSON answer', () => get('/v1/clients', admin), 200, true],
    ['a /v1 error (no token)', () => get('/v1/clients'), 401, true],
    ['a /v1 validation error', () => get('/v1/clients?limit=nope', admin), 400, true],
    [
      'a body Fastify refuses before Nest',
      () =>
        api
          .http()
          .post('/v1/clients')
          .set(admin)
          .set('content-type', 'application/json')
          .send('{"broken":') as unknown as Promise<Res>,
      400,
      true,
    ],
    ['an unknown route', () => get('/no/such/route'), 404, false],
    ['an unknown /v1 route', () => get('/v1/no-such-thing', admin), 404, true],
    ['/health', () => get('/health'), 200, false],
    ['/metrics', () => get('/metrics'), 200, false],
    ['/.well-known/jwks.json', () => get('/.well-known/jwks.json'), 200, false],
    ['/docs', () => get('/docs'), 200, false],
    ['/docs/json', () => get('/docs/json'), 200, false],
  ];

  it.each(kinds)('%s carries nosniff, no-referrer, frame denial and a CSP', async (_, send, status, v1) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    if (v1) expect(res.headers['cache-control']).toBe('no-store');
  });

  it('gives JSON answers a CSP that loads nothing', async () => {
    const res = await get('/v1/clients', admin);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it.each([
    ['a JWKS', () => jwksPath, 200],
    ['an unknown JWKS', () => '/jwks/AAAAAAAAAAAAAAAAAAAAAA.json', 404],
  ])('the public JWKS front door sends nosniff on %s', async (_, path, status) => {
    const res = await get(path());
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('the front door sends nosniff on a 304 too', async () => {
    const first = await get(jwksPath);
    const again = await get(jwksPath, { 'if-none-match': first.headers.etag });
    expect(again.status).toBe(304);
    expect(again.headers['x-content-type-options']).toBe('nosniff');
  });

  it('/docs still renders under its CSP: no inline script, every script and stylesheet it names is served', async () => {
    const page = await get('/docs');
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    // Under script-src 'self' an inline <script> would not run: there must be none.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...page.text.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\bhref)=["']([^"']+)["']/g)].map((m) => m[1]);
    const scripts = assets.filter((a) => a.endsWith('.js'));
    const styles = assets.filter((a) => a.endsWith('.css'));
    expect(scripts).toEqual(expect.arrayContaining([expect.stringContaining('swagger-ui-init.js')]));
    expect(styles.length).toBeGreaterThan(0);
    for (const asset of [...scripts, ...styles]) {
      // Same origin only (anything else is refused by default-src 'self'), resolved as a browser does.
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      const res = await get(new URL(asset, 'http://keyshift/docs').pathname);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-type']).toMatch(asset.endsWith('.js') ? /javascript/ : /text\/css/);
    }
    // The init script points Swagger UI at the document it is served with.
    const init = await get('/docs/swagger-ui-init.js');
    expect(init.text).toContain('"openapi"');
  });
});
