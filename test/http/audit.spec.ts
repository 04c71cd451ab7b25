import { anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

describe('audit chain verification over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    // A few events to walk: each created server is audited.
    for (let i = 0; i < 3; i++) {
      expect((await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).status).toBe(
        201,
      );
    }
  });
  afterAll(() => api.close());

  it('verifies incrementally by default, from the checkpoint the previous run left', async () => {
    const first = await api.http().get('/v1/audit/verify').set(admin);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      ok: true,
      mode: 'incremental',
      fromSeq: '1',
      startedFrom: null,
      firstBreak: null,
      checkpointRecorded: true,
      durationMs: expect.any(Number),
    });
    expect(first.body.eventsChecked).toBeGreaterThanOrEqual(3);
    expect(first.body.eventsChecked).toBe(Number(first.body.tip.seq));

    await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer());
    const second = await api.http().get('/v1/audit/verify').set(admin);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      ok: true,
      mode: 'incremental',
      fromSeq: String(Number(first.body.tip.seq) + 1),
      startedFrom: { seq: first.body.tip.seq, hash: first.body.tip.hash, mode: 'full', verifiedAt: expect.any(String) },
      eventsChecked: Number(second.body.tip.seq) - Number(first.body.tip.seq),
    });
    expect(second.body.eventsChecked).toBeGreaterThanOrEqual(1);
  });

  it('walks from the genesis with ?mode=full', async () => {
    const res = await api.http().get('/v1/audit/verify').query({ mode: 'full' }).set(admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, mode: 'full', fromSeq: '1', startedFrom: null, firstBreak: null });
    expect(res.body.eventsChecked).toBe(Number(res.body.tip.seq));
  });

  it('refuses an unknown mode with 400 naming mode', async () => {
    const res = await api.http().get('/v1/audit/verify').query({ mode: 'bogus' }).set(admin);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.details.fields).toEqual([{ field: 'mode', message: expect.stringContaining('full') }]);
  });
});
