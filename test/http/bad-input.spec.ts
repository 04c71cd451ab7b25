import { DATE_TIME_MESSAGE } from '@keyshift/common';
import { JobQueue } from '@keyshift/queue';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const UNSTORABLE = 'must not contain NUL characters or unpaired UTF-16 surrogates';
const CSV_HEADER =
  'authorizationServerId,clientId,authMethod,clientSecret,target.authMethod,target.senderConstraint,target.strategy,owner';

/** Issue 12, "Bad input": each case answered 500 (or did the wrong thing) before; now a 400 naming the field. */
describe('bad input over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let serverId: string;

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
  });
  afterAll(() => api.close());

  const count = async (table: string) =>
    (await api.app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;
  const probeJobs = async () => {
    const counts = await api.app.get(JobQueue).queue(`probe.${serverId}`).getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };
  const nested = (depth: number) => {
    let json = '"x"';
    for (let i = 0; i < depth; i++) json = `{"a":${json}}`;
    return json;
  };

  describe('JSON nesting', () => {
    it.each([
      ['POST', '/v1/authorization-servers'],
      ['POST', '/v1/clients'],
      ['POST', '/v1/clients/import'],
      ['POST', '/v1/campaigns'],
      ['POST', '/v1/probes/sweeps'],
      ['POST', '/v1/reports'],
    ])('refuses a body 3,000 levels deep on %s %s with 400 naming body', async (method, path) => {
      const verb = method.toLowerCase() as 'post';
      const res = await api
        .http()[verb](path)
        .set(admin)
        .set('Content-Type', 'application/json')
        .send(`{"name":${nested(3000)}}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'malformed_body', details: { field: 'body' } });
      expect(res.body.message).toContain('deeper than 64');
    });

    it('takes a body at the limit to validation, and refuses one level more', async () => {
      const ok = await api
        .http()
        .post('/v1/campaigns')
        .set(admin)
        .set('Content-Type', 'application/json')
        .send(`{"selector":${nested(63)}}`);
      expect(ok.status).toBe(400);
      expect(ok.body.code).toBe('validation_failed');
      const over = await api
        .http()
        .post('/v1/campaigns')
        .set(admin)
        .set('Content-Type', 'application/json')
        .send(`{"selector":${nested(64)}}`);
      expect(over.body.code).toBe('malformed_body');
    });
  });

  describe('NUL and lone surrogates', () => {
    it.each([
      ['server name', '/v1/authorization-servers', () => anAuthorizationServer({ name: 'a\u0000b' }), 'name'],
      ['server name (surrogate)', '/v1/authorization-servers', () => anAuthorizationServer({ name: '\ud800' }), 'name'],
      ['clientId', '/v1/clients', () => aClient(serverId, { clientId: 'c\u0000' }), 'clientId'],
      ['owner', '/v1/clients', () => aClient(serverId, { owner: 'team\ud800' }), 'owner'],
      // Tags and enums have their own rules, which refuse these first; still a 400 naming the field.
      ['a tag', '/v1/clients', () => aClient(serverId, { tags: ['ok', 'x\u0000'] }), 'tags', 'each tag must'],
      [
        'target (nested)',
        '/v1/clients',
        () => aClient(serverId, { target: { authMethod: '\udc00' } }),
        'target.authMethod',
        'must be one of',
      ],
      ['sweep owner', '/v1/probes/sweeps', () => ({ owner: '\ud800' }), 'owner'],
      ['sweep tag', '/v1/probes/sweeps', () => ({ tag: '\u0000' }), 'tag'],
      [
        'campaign selector',
        '/v1/campaigns',
        () => ({ name: 'n', selector: { owner: '\u0000' }, canarySize: 1, waveSize: 1, maxFailureRate: 0 }),
        'selector.owner',
      ],
      [
        'campaign selector tag',
        '/v1/campaigns',
        () => ({ name: 'n', selector: { tags: ['\ud800'] }, canarySize: 1, waveSize: 1, maxFailureRate: 0 }),
        'selector.tags[0]',
      ],
      ['report filter tag', '/v1/reports', () => ({ kind: 'estate', filter: { tag: 'a\u0000' } }), 'filter.tag'],
      [
        'an unknown property name',
        '/v1/clients',
        () => ({ ...aClient(serverId), ['k\u0000']: 1 }),
        'body',
        'not in the API',
      ],
      [
        'a JWK member',
        '/v1/clients/01a20000-0000-7000-8000-000000000000/keys',
        () => ({
          challengeId: '01a20000-0000-7000-8000-000000000000',
          alg: 'ES256',
          jwk: { kty: 'EC', crv: '\u0000' },
          proof: 'x',
        }),
        'jwk.crv',
      ],
    ])('refuses %s with 400 naming the field, writing nothing', async (_, path, body, field, message = UNSTORABLE) => {
      const [events, clients] = [await count('audit_events'), await count('clients')];
      const res = await api.http().post(path).set(admin).send(body());
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toContainEqual({ field, message: expect.stringContaining(message) });
      expect([await count('audit_events'), await count('clients')]).toEqual([events, clients]);
    });

    it.each([
      ['/v1/audit/events?subjectType=%00', 'subjectType'],
      ['/v1/clients?owner=%00', 'owner'],
      ['/v1/clients?tag=a%00b', 'tag'],
      ['/v1/reports/estate?tag=%00', 'tag'],
      ['/v1/campaigns?cursor=%00', 'cursor'],
    ])('refuses GET %s with 400 naming %s', async (path, field) => {
      const res = await api.http().get(path).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.details.fields[0].field).toBe(field);
    });

    it('imports the good rows of a JSON import with onError=skip and reports the NUL and surrogate rows', async () => {
      const good = aClient(serverId, { owner: 'skip-json' });
      const res = await api
        .http()
        .post('/v1/clients/import?onError=skip')
        .set(admin)
        .send([good, aClient(serverId, { owner: 'x\u0000' }), aClient(serverId, { clientId: 'c\ud800' })]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 3, created: 1, rejected: 2 });
      expect(res.body.errors).toEqual([
        { row: 2, field: 'owner', message: UNSTORABLE },
        { row: 3, field: 'clientId', message: UNSTORABLE },
      ]);
    });

    it('rejects the whole JSON import by default, naming the row and field', async () => {
      const before = await count('clients');
      const res = await api
        .http()
        .post('/v1/clients/import')
        .set(admin)
        .send([aClient(serverId), aClient(serverId, { clientSecret: 's\u0000' })]);
      expect(res.status).toBe(422);
      expect(res.body.details.errors).toEqual([{ row: 2, field: 'clientSecret', message: UNSTORABLE }]);
      expect(await count('clients')).toBe(before);
    });

    it('imports the good rows of a CSV import with onError=skip and reports the NUL row', async () => {
      const row = (clientId: string) =>
        `${serverId},${clientId},client_secret_basic,a-secret,private_key_jwt,dpop,in_place,skip-csv`;
      const csv = [CSV_HEADER, row('csv-good'), row('csv-\u0000-bad')].join('\n');
      const res = await api
        .http()
        .post('/v1/clients/import?onError=skip')
        .set(admin)
        .set('Content-Type', 'text/csv')
        .send(csv);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 2, created: 1, rejected: 1 });
      expect(res.body.errors).toEqual([{ row: 2, field: 'clientId', message: UNSTORABLE }]);
    });
  });

  describe('[] and null where an object is expected', () => {
    it.each([
      [
        'POST /v1/campaigns selector: []',
        '/v1/campaigns',
        { name: 'n', selector: [], canarySize: 1, waveSize: 1, maxFailureRate: 0 },
        'selector',
      ],
      [
        'POST /v1/campaigns selector: [{...}]',
        '/v1/campaigns',
        { name: 'n', selector: [{ owner: 'x' }], canarySize: 1, waveSize: 1, maxFailureRate: 0 },
        'selector',
      ],
      [
        'POST /v1/campaigns selector: "x"',
        '/v1/campaigns',
        { name: 'n', selector: 'x', canarySize: 1, waveSize: 1, maxFailureRate: 0 },
        'selector',
      ],
      [
        'POST /v1/authorization-servers connector: []',
        '/v1/authorization-servers',
        anAuthorizationServer({ connector: [] }),
        'connector',
      ],
      [
        'POST /v1/authorization-servers connector: [{type}]',
        '/v1/authorization-servers',
        anAuthorizationServer({ connector: [{ type: 'manual' }] }),
        'connector',
      ],
      ['POST /v1/clients target: []', '/v1/clients', () => aClient(serverId, { target: [] }), 'target'],
      ['POST /v1/clients target: 7', '/v1/clients', () => aClient(serverId, { target: 7 }), 'target'],
      ['POST /v1/reports filter: []', '/v1/reports', { kind: 'estate', filter: [] }, 'filter'],
      ['POST /v1/reports filter: null', '/v1/reports', { kind: 'estate', filter: null }, 'filter'],
    ])('%s is a 400 naming the field, creating nothing', async (_, path, body, field) => {
      const before = [await count('campaigns'), await count('authorization_servers'), await count('clients')];
      const res = await api
        .http()
        .post(path)
        .set(admin)
        .send(typeof body === 'function' ? body() : body);
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect([await count('campaigns'), await count('authorization_servers'), await count('clients')]).toEqual(before);
    });
  });

  describe('secretIssuedAt and other dates', () => {
    it.each([
      0,
      -1,
      1.5,
      true,
      '0',
      'yesterday',
      '2020-13-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-05-01',
      '2024-05-01T10:00:00',
      'May 1, 2024 10:00 UTC',
      { a: 1 },
    ])('refuses secretIssuedAt %p', async (value) => {
      const res = await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { secretIssuedAt: value }));
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toEqual([{ field: 'secretIssuedAt', message: DATE_TIME_MESSAGE }]);
    });

    it('takes an ISO 8601 date-time, and refuses one in the future', async () => {
      const ok = await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { secretIssuedAt: '2024-05-01T10:00:00Z' }));
      expect(ok.status).toBe(201);
      expect(ok.body.secret.issuedAt).toBe('2024-05-01T10:00:00.000Z');
      const future = await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { secretIssuedAt: '2999-01-01T00:00:00Z' }));
      expect(future.body.details.fields).toEqual([{ field: 'secretIssuedAt', message: 'must not be in the future' }]);
    });

    it('refuses a number as ?since= on the audit list', async () => {
      const res = await api.http().get('/v1/audit/events?since=0').set(admin);
      expect(res.status).toBe(400);
      expect(res.body.details.fields[0].field).toBe('since');
    });

    it.each([true, '30', 1.5, [30]])(
      'refuses periodDays %p in a rotation policy (a JSON body is not coerced)',
      async (value) => {
        const res = await api
          .http()
          .put(`/v1/authorization-servers/${serverId}/rotation-policy`)
          .set(admin)
          .send({ periodDays: value });
        expect(res.status).toBe(400);
        expect(res.body.details.fields[0].field).toBe('periodDays');
      },
    );

    it('refuses a non-integer expectedVersion', async () => {
      const client = await api.http().post('/v1/clients').set(admin).send(aClient(serverId)).expect(201);
      const res = await api
        .http()
        .post(`/v1/clients/${client.body.id}/pause`)
        .set(admin)
        .send({ expectedVersion: 'abc' });
      expect(res.status).toBe(400);
      expect(res.body.details.fields[0].field).toBe('expectedVersion');
    });
  });

  describe('GET /v1/clients/{id}/evidence', () => {
    it('answers an unknown id with a JSON 404 and a malformed one with a JSON 400', async () => {
      const unknown = await api.http().get('/v1/clients/01a20000-0000-7000-8000-000000000000/evidence').set(admin);
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/json/);
      expect(unknown.body.code).toBe('not_found');
      const malformed = await api.http().get('/v1/clients/not-an-id/evidence').set(admin);
      expect(malformed.status).toBe(400);
      expect(malformed.headers['content-type']).toMatch(/^application\/json/);
      expect(malformed.body.details.fields).toEqual([{ field: 'id', message: 'must be a UUID' }]);
    });

    it('still answers a known client with application/jose', async () => {
      const client = await api.http().post('/v1/clients').set(admin).send(aClient(serverId)).expect(201);
      const res = await api
        .http()
        .get(`/v1/clients/${client.body.id}/evidence`)
        .set(admin)
        .buffer(true)
        .parse((r, cb) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => cb(null, text));
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/jose/);
      expect(String(res.body).split('.')).toHaveLength(3);
    });
  });

  describe('probe sweeps', () => {
    it('refuses {"owner":"\\ud800"} before anything is queued or audited', async () => {
      await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { owner: 'sweep-team' }))
        .expect(201);
      const [jobs, events] = [await probeJobs(), await count('audit_events')];
      const res = await api.http().post('/v1/probes/sweeps').set(admin).send({ owner: '\ud800' });
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toEqual([{ field: 'owner', message: UNSTORABLE }]);
      expect([await probeJobs(), await count('audit_events')]).toEqual([jobs, events]);
    });

    it('queues nothing when the audit event cannot be written', async () => {
      const jobs = await probeJobs();
      const audit = api.app.get(AuditLog);
      const spy = jest.spyOn(audit, 'record').mockRejectedValueOnce(new Error('audit write failed'));
      try {
        const res = await api.http().post('/v1/probes/sweeps').set(admin).send({ owner: 'sweep-team' });
        expect(res.status).toBe(500);
      } finally {
        spy.mockRestore();
      }
      expect(await probeJobs()).toBe(jobs);
    });

    it('audits, then queues, a valid sweep; its status is 200, an unknown sweep 404', async () => {
      const jobs = await probeJobs();
      const res = await api.http().post('/v1/probes/sweeps').set(admin).send({ owner: 'sweep-team' });
      expect(res.status).toBe(202);
      expect(res.body.queued).toBe(1);
      expect(await probeJobs()).toBe(jobs + 1);
      const [event] = await api.app
        .get(DataSource)
        .query(`SELECT after FROM audit_events WHERE subject_type = 'probe_sweep' AND subject_id = $1`, [
          res.body.sweepId,
        ]);
      expect(event.after).toMatchObject({ queued: 1, filter: { owner: 'sweep-team' } });
      const status = await api.http().get(`/v1/probes/sweeps/${res.body.sweepId}`).set(admin);
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({ sweepId: res.body.sweepId, probes: 0 });
      const unknown = await api.http().get('/v1/probes/sweeps/01a20000-0000-7000-8000-000000000000').set(admin);
      expect(unknown.status).toBe(404);
    });
  });

  describe('an over-long path parameter', () => {
    it('is a 404 with the error body and headers, never quoting the path back', async () => {
      const marker = 'SECRET-PATH-' + 'a'.repeat(600);
      const res = await api.http().get(`/v1/clients/${marker}`).set(admin);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'not_found', details: { field: 'path' } });
      expect(res.text).not.toContain('SECRET-PATH');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });
  });
});
