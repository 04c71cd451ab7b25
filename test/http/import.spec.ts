import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const CSV_HEADER =
  'authorizationServerId,clientId,authMethod,clientSecret,target.authMethod,target.senderConstraint,target.strategy,owner,tags';

describe('POST /v1/clients/import', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let serverId: string;

  beforeAll(async () => {
    api = await startTestApi({ KEYSHIFT_IMPORT_MAX_ROWS: '50', KEYSHIFT_BODY_LIMIT_BYTES: '65536' });
    admin = api.as(api.adminToken);
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
  });
  afterAll(() => api.close());

  const importJson = (rows: unknown, query: Record<string, string> = {}) =>
    api
      .http()
      .post('/v1/clients/import')
      .query(query)
      .set(admin)
      .send(rows as object);
  const importCsv = (csv: string, query: Record<string, string> = {}) =>
    api.http().post('/v1/clients/import').query(query).set(admin).set('Content-Type', 'text/csv').send(csv);
  const clientsOf = async (owner: string) =>
    (await api.app
      .get(DataSource)
      .query('SELECT * FROM clients WHERE owner = $1 ORDER BY client_id', [owner])) as Record<string, unknown>[];
  const eventCount = async () =>
    (await api.app.get(DataSource).query('SELECT count(*)::int AS n FROM audit_events'))[0].n as number;

  it('creates every row, then is idempotent on (server, clientId)', async () => {
    const rows = Array.from({ length: 20 }, () => aClient(serverId, { owner: 'team-import' }));
    const first = await importJson(rows);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: 20, created: 20, updated: 0, unchanged: 0, rejected: 0, errors: [] });
    const events = await eventCount();
    const again = await importJson(rows);
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 20 });
    expect(await eventCount()).toBe(events);
    expect(await clientsOf('team-import')).toHaveLength(20);
  });

  it('updates what changed, replacing a secret without decrypting the old one, and audits it', async () => {
    const row = aClient(serverId, { owner: 'team-update', tags: ['a'] });
    await importJson([row]);
    const [before] = await clientsOf('team-update');
    const res = await importJson([{ ...row, tags: ['a', 'b'], clientSecret: 'rotated-secret-value' }]);
    expect(res.body).toMatchObject({ updated: 1, unchanged: 0 });
    const [after] = await clientsOf('team-update');
    expect(after.tags).toEqual(['a', 'b']);
    expect(after.version).toBe((before.version as number) + 1);
    expect(after.secret_fingerprint).not.toBe(before.secret_fingerprint);
    const events = await api
      .http()
      .get('/v1/audit/events')
      .query({ subjectId: String(after.id), action: 'client.updated' })
      .set(admin);
    expect(events.body.items[0].after.replaced).toEqual(['clientSecret']);
    expect(JSON.stringify(events.body)).not.toContain('rotated-secret-value');
  });

  it('refuses to change a secret or target once the client has left vendor_check', async () => {
    const row = aClient(serverId, { owner: 'team-locked' });
    await importJson([row]);
    await api.app.get(DataSource).query(`UPDATE clients SET phase = 'parallel_auth' WHERE owner = 'team-locked'`);
    const res = await importJson([{ ...row, clientSecret: 'new' }]);
    expect(res.status).toBe(422);
    expect(res.body.details.errors).toEqual([
      {
        row: 1,
        field: 'clientSecret',
        message: 'cannot change once the client has left vendor_check (it is in parallel_auth)',
      },
    ]);
    expect((await importJson([{ ...row, owner: 'team-locked', tags: ['moved'] }])).body).toMatchObject({ updated: 1 });
  });

  it('rejects the whole request when any row is bad, naming row and field, and writes nothing', async () => {
    const good = aClient(serverId, { owner: 'team-mixed' });
    const rows = [
      good,
      aClient(serverId, { owner: 'team-mixed', authMethod: 'password' }),
      'not an object',
      { ...good },
      aClient('01a20000-0000-7000-8000-000000000000', { owner: 'team-mixed' }),
    ];
    const events = await eventCount();
    const res = await importJson(rows);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('import_rejected');
    expect(res.body.details.errors).toEqual([
      { row: 2, field: 'authMethod', message: expect.stringContaining('must be one of') },
      { row: 3, field: '(row)', message: 'must be an object' },
      { row: 4, field: 'clientId', message: 'duplicates row 1 (same authorization server and clientId)' },
      { row: 5, field: 'authorizationServerId', message: 'no authorization server has this id' },
    ]);
    expect(await clientsOf('team-mixed')).toHaveLength(0);
    expect(await eventCount()).toBe(events);
  });

  it('with onError=skip writes the valid rows together and reports the rest', async () => {
    const rows = [
      aClient(serverId, { owner: 'team-skip' }),
      aClient(serverId, { owner: 'team-skip', target: { authMethod: 'private_key_jwt' } }),
      aClient(serverId, { owner: 'team-skip' }),
    ];
    const res = await importJson(rows, { onError: 'skip' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      received: 3,
      created: 2,
      rejected: 1,
      errors: [
        { row: 2, field: 'target.senderConstraint' },
        { row: 2, field: 'target.strategy' },
      ],
    });
    expect(await clientsOf('team-skip')).toHaveLength(2);
  });

  it('imports CSV with the same field names', async () => {
    const csv = [
      CSV_HEADER,
      `${serverId},csv-1,client_secret_basic,"s,ecret",private_key_jwt,dpop,in_place,team-csv,a;b`,
      `${serverId},csv-2,client_secret_post,x,private_key_jwt,none,successor,team-csv,`,
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.body).toMatchObject({ created: 2, rejected: 0 });
    const rows = await clientsOf('team-csv');
    expect(rows.map((r) => [r.client_id, r.auth_method, r.target_strategy, r.tags])).toEqual([
      ['csv-1', 'client_secret_basic', 'in_place', ['a', 'b']],
      ['csv-2', 'client_secret_post', 'successor', []],
    ]);
  });

  it('takes a secret issue date from CSV, updates it alone, and keeps it with its secret', async () => {
    const row = aClient(serverId, { owner: 'team-dated' });
    const csv = (issued: string, secret = row.clientSecret) =>
      `${CSV_HEADER},secretIssuedAt\n${serverId},${row.clientId},client_secret_basic,${secret},private_key_jwt,dpop,in_place,team-dated,dated,${issued}`;
    expect((await importCsv(csv('2025-01-02T03:04:05Z'))).body).toMatchObject({ created: 1 });
    const [created] = await clientsOf('team-dated');
    expect((created.secret_issued_at as Date).toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect((await importCsv(csv('2025-01-02T03:04:05Z'))).body).toMatchObject({ unchanged: 1 });
    expect((await importCsv(csv('2025-02-01T00:00:00Z'))).body).toMatchObject({ updated: 1 });
    // A new secret without a date is aged from this import, not by the old secret's date.
    const replaced = `${CSV_HEADER}\n${serverId},${row.clientId},client_secret_basic,new-${row.clientSecret},private_key_jwt,dpop,in_place,team-dated,dated`;
    expect((await importCsv(replaced)).body).toMatchObject({ updated: 1 });
    const issued = (await clientsOf('team-dated'))[0].secret_issued_at as Date;
    expect(Date.now() - issued.getTime()).toBeLessThan(60_000);
    const future = await importCsv(csv('2999-01-01T00:00:00Z'));
    expect(future.status).toBe(422);
    expect(JSON.stringify(future.body)).toContain('secretIssuedAt');
  });

  it('rejects a CSV with a broken row and writes nothing', async () => {
    const csv = [
      CSV_HEADER,
      `${serverId},csv-ok,client_secret_basic,s,private_key_jwt,dpop,in_place,team-csv-bad,`,
      `${serverId},csv-short,client_secret_basic`,
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(422);
    expect(res.body.details.errors).toEqual([{ row: 2, field: '(row)', message: 'expected 9 columns, found 3' }]);
    expect(await clientsOf('team-csv-bad')).toHaveLength(0);
    const unparsable = await importCsv(`${CSV_HEADER}\n"unterminated`);
    expect(unparsable.status).toBe(400);
    expect(unparsable.body).toMatchObject({ code: 'malformed_body', details: { field: 'body' } });
  });

  it('limits rows per request and body size', async () => {
    const tooMany = await importJson(Array.from({ length: 51 }, () => aClient(serverId)));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ code: 'payload_too_large', details: { field: 'body', maxRows: 50 } });
    const huge = await importJson([aClient(serverId, { clientSecret: 'x'.repeat(70_000) })]);
    expect(huge.status).toBe(413);
    expect(huge.body.details).toEqual({ field: 'body' });
    const notArray = await importJson({ clients: [] });
    expect(notArray.body.details.fields).toEqual([{ field: 'body', message: expect.stringContaining('JSON array') }]);
  });

  it('keeps the audit chain intact through all of it', async () => {
    expect((await api.http().get('/v1/audit/verify').set(admin)).body).toMatchObject({ ok: true, firstBreak: null });
  });
});
