import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startTestApi, TestApi } from '../support/test-api';

/** Every /v1 route, with a body that would pass validation, so only authentication decides. */
const V1_ROUTES: [method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string][] = [
  ['post', '/v1/api-tokens'],
  ['get', '/v1/api-tokens'],
  ['delete', '/v1/api-tokens/01a20000-0000-7000-8000-000000000000'],
  ['post', '/v1/authorization-servers'],
  ['get', '/v1/authorization-servers'],
  ['get', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000'],
  ['post', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/discover'],
  ['patch', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000'],
  ['put', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/admin-access'],
  ['post', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/inventory'],
  [
    'get',
    '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/inventory/01a20000-0000-7000-8000-000000000001',
  ],
  [
    'post',
    '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/inventory/01a20000-0000-7000-8000-000000000001/import',
  ],
  ['put', '/v1/clients/01a20000-0000-7000-8000-000000000000/registration-access-token'],
  ['post', '/v1/clients'],
  ['post', '/v1/clients/import'],
  ['get', '/v1/clients'],
  ['get', '/v1/clients/01a20000-0000-7000-8000-000000000000'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/advance'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/rollback'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/pause'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/resume'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/cutover/confirm'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/server-change/confirm'],
  ['post', '/v1/campaigns'],
  ['get', '/v1/campaigns'],
  ['get', '/v1/campaigns/01a20000-0000-7000-8000-000000000000'],
  ['post', '/v1/campaigns/01a20000-0000-7000-8000-000000000000/pause'],
  ['post', '/v1/campaigns/01a20000-0000-7000-8000-000000000000/resume'],
  ['get', '/v1/clients/01a20000-0000-7000-8000-000000000000/probes'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/probes'],
  ['get', '/v1/clients/01a20000-0000-7000-8000-000000000000/keys'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/keys'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/keys/rotate'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/keys/challenges'],
  ['post', '/v1/clients/01a20000-0000-7000-8000-000000000000/keys/01a20000-0000-7000-8000-000000000001/export'],
  ['put', '/v1/clients/01a20000-0000-7000-8000-000000000000/rotation-policy'],
  ['put', '/v1/authorization-servers/01a20000-0000-7000-8000-000000000000/rotation-policy'],
  ['post', '/v1/probes/sweeps'],
  ['get', '/v1/probes/sweeps/01a20000-0000-7000-8000-000000000000'],
  ['get', '/v1/audit/events'],
  ['get', '/v1/audit/verify'],
  ['get', '/v1/reports/estate'],
  ['post', '/v1/signing-keys/rotate'],
  ['post', '/v1/reports'],
  ['get', '/v1/reports/01a20000-0000-7000-8000-000000000000'],
  ['get', '/v1/reports/01a20000-0000-7000-8000-000000000000/content'],
  ['get', '/v1/clients/01a20000-0000-7000-8000-000000000000/evidence'],
  ['post', '/v1/campaigns/01a20000-0000-7000-8000-000000000000/evidence'],
];

describe('API authentication and roles', () => {
  let api: TestApi;
  beforeAll(async () => (api = await startTestApi()));
  afterAll(() => api.close());

  it.each(V1_ROUTES)('%s %s is 401 without a token and with a bad one', async (method, path) => {
    const missing = await api.http()[method](path);
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 'unauthenticated', message: expect.stringContaining('Bearer') });
    const bad = await api.http()[method](path).set(api.as('ks_not-a-real-token'));
    expect(bad.status).toBe(401);
  });

  it('covers every /v1 route the app serves (per its OpenAPI document)', async () => {
    const docs = await api.http().get('/docs/json');
    const served = Object.entries(docs.body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/v1'))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map(
          (m) => `${m} ${path.replace(/\{id\}/g, ':id').replace(/\{(keyId|runId)\}/g, ':keyId')}`,
        ),
      );
    const tested = V1_ROUTES.map(
      ([m, p]) => `${m} ${p.replace(/01a2[0-9a-f-]+?0001/, ':keyId').replace(/01a2[0-9a-f-]+/, ':id')}`,
    );
    expect(served.sort()).toEqual(tested.sort());
  });

  it('lets an admin mint tokens shown once and stored hashed, and enforces roles', async () => {
    const admin = api.as(api.adminToken);
    const created = await api.http().post('/v1/api-tokens').set(admin).send({ name: 'dashboard', role: 'viewer' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'dashboard', role: 'viewer', token: expect.stringMatching(/^ks_/) });
    const viewer = api.as(created.body.token);

    const list = await api.http().get('/v1/api-tokens').set(admin);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const [row] = await api.app
      .get(DataSource)
      .query('SELECT row_to_json(t)::text AS j, token_hash FROM api_tokens t WHERE name = $1', ['dashboard']);
    expect(row.j).not.toContain(created.body.token);
    expect(row.token_hash).toBe(createHash('sha256').update(created.body.token).digest('hex'));

    expect((await api.http().get('/v1/clients').set(viewer)).status).toBe(200);
    const forbidden = await api.http().post('/v1/authorization-servers').set(viewer).send({});
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({
      code: 'forbidden',
      message: 'this action needs the operator role; the token has viewer',
    });
    expect((await api.http().get('/v1/api-tokens').set(viewer)).status).toBe(403);

    const op = await api.http().post('/v1/api-tokens').set(admin).send({ name: 'ops', role: 'operator' });
    expect(
      (await api.http().post('/v1/api-tokens').set(api.as(op.body.token)).send({ name: 'x', role: 'admin' })).status,
    ).toBe(403);

    const revoked = await api.http().delete(`/v1/api-tokens/${created.body.id}`).set(admin);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await api.http().get('/v1/clients').set(viewer)).status).toBe(401);
  });

  it('refuses a duplicate token name with 409 naming the field', async () => {
    const admin = api.as(api.adminToken);
    await api.http().post('/v1/api-tokens').set(admin).send({ name: 'twice', role: 'viewer' });
    const again = await api.http().post('/v1/api-tokens').set(admin).send({ name: 'twice', role: 'viewer' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'already_exists', details: { field: 'name' } });
  });

  it('serves /health, /metrics and /docs without a token', async () => {
    const health = await api.http().get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', checks: { postgres: { ok: true }, redis: { ok: true } } });
    const metrics = await api.http().get('/metrics');
    expect(metrics.text).toContain('keyshift_http_request_duration_seconds');
    expect(metrics.text).toContain('keyshift_clients');
    const docs = await api.http().get('/docs/json');
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/v1/clients', '/v1/clients/import', '/v1/audit/verify']),
    );
  });
});
