import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/** Campaigns and the migration routes over HTTP: validation that names the field, nothing half-written. */
describe('campaigns and migration routes over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let serverId: string;
  const campaign = (overrides: Record<string, unknown> = {}) => ({
    name: 'wave test',
    selector: { tags: ['http-campaign'] },
    canarySize: 1,
    waveSize: 2,
    maxFailureRate: 0.2,
    ...overrides,
  });

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
    for (let i = 0; i < 5; i++) {
      await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { tags: ['http-campaign'] }))
        .expect(201);
    }
  });
  afterAll(() => api.close());

  const count = async (sql: string) => (await api.app.get(DataSource).query(sql))[0].n as number;

  it.each([
    ['a failure rate above 1', { maxFailureRate: 1.5 }, 'maxFailureRate', 'must not be greater than 1'],
    ['a wave of 0', { waveSize: 0 }, 'waveSize', 'must not be less than 1'],
    ['a negative canary', { canarySize: -1 }, 'canarySize', 'must not be less than 0'],
    ['an unknown phase', { selector: { phase: 'done' } }, 'selector.phase', 'must be one of'],
    [
      'a server id that is not a uuid',
      { selector: { authorizationServerId: 'x' } },
      'selector.authorizationServerId',
      'UUID',
    ],
    ['a zero budget', { serverBudgetPerSecond: 0 }, 'serverBudgetPerSecond', 'must not be less than 1'],
  ])('refuses %s with 400 naming the field, writing nothing', async (_, overrides, field, message) => {
    const res = await api.http().post('/v1/campaigns').set(admin).send(campaign(overrides));
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toContainEqual({ field, message: expect.stringContaining(message) });
    expect(await count('SELECT count(*)::int AS n FROM campaigns')).toBe(0);
  });

  it('refuses a selector that matches no client, naming the selector', async () => {
    const res = await api
      .http()
      .post('/v1/campaigns')
      .set(admin)
      .send(campaign({ selector: { tags: ['nobody'] } }));
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toContainEqual({
      field: 'selector',
      message: expect.stringContaining('matches no client'),
    });
  });

  it('creates a campaign with a canary and waves, shows its progress, pauses and resumes; members are not taken twice', async () => {
    const created = await api.http().post('/v1/campaigns').set(admin).send(campaign());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'running', members: 5, waveCount: 3, releasedWave: -1 });
    expect(
      await count(
        `SELECT count(*)::int AS n FROM clients WHERE campaign_id = '${created.body.id}' AND campaign_wave = 0`,
      ),
    ).toBe(1);
    const got = await api.http().get(`/v1/campaigns/${created.body.id}`).set(admin);
    expect(got.body.progress).toMatchObject({
      byPhase: { vendor_check: { pending: 5 } },
      waves: [
        { wave: 0, members: 1, released: false },
        { wave: 1, members: 2, released: false },
        { wave: 2, members: 2, released: false },
      ],
      failureRate: 0,
      failures: [],
    });
    const again = await api.http().post('/v1/campaigns').set(admin).send(campaign());
    expect(again.status).toBe(400); // all five are in an open campaign: the selector matches no one

    const paused = await api.http().post(`/v1/campaigns/${created.body.id}/pause`).set(admin);
    expect(paused.body).toMatchObject({ status: 'paused', pausedReason: expect.stringContaining('paused by') });
    expect((await api.http().post(`/v1/campaigns/${created.body.id}/pause`).set(admin)).status).toBe(409);
    const resumed = await api
      .http()
      .post(`/v1/campaigns/${created.body.id}/resume`)
      .set(admin)
      .send({ maxFailureRate: 0.5 });
    expect(resumed.body).toMatchObject({ status: 'running', maxFailureRate: 0.5, pausedReason: null });
    expect((await api.http().get('/v1/campaigns').set(admin)).body.items).toHaveLength(1);
    expect((await api.http().get('/v1/campaigns/01a20000-0000-7000-8000-000000000000').set(admin)).status).toBe(404);
  });

  it('refuses automatic cutover for a successor client, naming target.cutover', async () => {
    const res = await api
      .http()
      .post('/v1/clients')
      .set(admin)
      .send(
        aClient(serverId, {
          target: {
            authMethod: 'private_key_jwt',
            senderConstraint: 'none',
            strategy: 'successor',
            cutover: 'automatic',
          },
        }),
      );
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toContainEqual({
      field: 'target.cutover',
      message: expect.stringContaining('in_place'),
    });
  });

  it('refuses a server-change confirmation when nothing awaits one', async () => {
    const client = await api.http().post('/v1/clients').set(admin).send(aClient(serverId)).expect(201);
    const res = await api
      .http()
      .post(`/v1/clients/${client.body.id}/server-change/confirm`)
      .set(admin)
      .send({ note: 'done at the console' });
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('no server change');
    const view = (await api.http().get(`/v1/clients/${client.body.id}`).set(admin)).body;
    expect(view).toMatchObject({
      target: { cutover: 'confirm' },
      campaign: null,
      registration: { atServer: {}, successorClientId: null, pendingChange: null, revertPending: false },
    });
  });
});
