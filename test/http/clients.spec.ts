import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

describe('authorization servers and clients over HTTP', () => {
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

  describe('authorization servers', () => {
    it.each([
      ['an issuer that is not a URL', { issuer: 'idp.example.com' }, 'issuer', 'must be an absolute URL'],
      ['an http issuer off the allowlist', { issuer: 'http://idp.example.com' }, 'issuer', 'must use https'],
      ['an issuer with a query', { issuer: 'https://idp.example.com/?tenant=1' }, 'issuer', 'must not have a query'],
      ['an unknown connector', { connector: { type: 'ldap' } }, 'connector.type', 'must be one of'],
      ['a negative cache time', { jwksCacheSeconds: -1 }, 'jwksCacheSeconds', 'must not be less than 0'],
      // Named by where it sits, not by its name: a mistyped object can turn a secret into a field name.
      ['an unknown field', { colour: 'blue' }, 'body', 'has a field that is not in the API'],
      ['a wrong type', { name: 42 }, 'name', 'must be a string'],
    ])('refuses %s with 400 naming the field, writing nothing', async (_, overrides, field, message) => {
      const before = await count('authorization_servers');
      const res = await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer(overrides));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.details.fields).toContainEqual({ field, message: expect.stringContaining(message) });
      expect(await count('authorization_servers')).toBe(before);
    });

    it('accepts http on an allowlisted host, refuses duplicates by field, and reads back', async () => {
      const body = anAuthorizationServer({ issuer: 'http://127.0.0.1:4000', jwksCacheSeconds: 60 });
      const created = await api.http().post('/v1/authorization-servers').set(admin).send(body);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ issuer: 'http://127.0.0.1:4000', jwksCacheSeconds: 60, capabilities: null });
      const dup = await api
        .http()
        .post('/v1/authorization-servers')
        .set(admin)
        .send({ ...body, name: 'other' });
      expect(dup.status).toBe(409);
      expect(dup.body.details).toEqual({ field: 'issuer' });
      expect((await api.http().get(`/v1/authorization-servers/${created.body.id}`).set(admin)).body.name).toBe(
        body.name,
      );
      expect((await api.http().get('/v1/authorization-servers').set(admin)).body.items.length).toBeGreaterThanOrEqual(
        2,
      );
    });
  });

  describe('clients', () => {
    it('creates a client without ever returning or storing its secret in the clear', async () => {
      const body = aClient(serverId, { registrationAccessToken: 'rat-very-secret-123' });
      const res = await api.http().post('/v1/clients').set(admin).send(body);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        clientId: body.clientId,
        phase: 'vendor_check',
        state: 'pending',
        secret: { status: 'present' },
        registration: { hasAccessToken: true },
      });
      const all = JSON.stringify([res.body, (await api.http().get(`/v1/clients/${res.body.id}`).set(admin)).body]);
      expect(all).not.toContain(body.clientSecret);
      expect(all).not.toContain('rat-very-secret-123');

      const [row] = await api.app.get(DataSource).query('SELECT * FROM clients WHERE id = $1', [res.body.id]);
      const stored =
        JSON.stringify(row) +
        row.secret_ciphertext.toString('latin1') +
        row.registration_access_token_ciphertext.toString('latin1');
      expect(stored).not.toContain(body.clientSecret);
      expect(stored).not.toContain('rat-very-secret-123');
      const events = await api.app.get(DataSource).query('SELECT before::text, after::text FROM audit_events');
      expect(JSON.stringify(events)).not.toContain(body.clientSecret);
    });

    it.each([
      [
        'an unknown authorization server',
        { authorizationServerId: '01a20000-0000-7000-8000-000000000000' },
        'authorizationServerId',
      ],
      [
        'a target method not supported yet',
        { target: { authMethod: 'tls_client_auth', senderConstraint: 'dpop', strategy: 'in_place' } },
        'target.authMethod',
      ],
      ['a missing target', { target: undefined }, 'target'],
      ['a source method that is not a secret', { authMethod: 'private_key_jwt' }, 'authMethod'],
      ['a bad tag', { tags: ['ok', ' spaced'] }, 'tags'],
      ['an empty secret', { clientSecret: '' }, 'clientSecret'],
    ])('refuses %s with 400 naming %s', async (_, overrides, field) => {
      const res = await api.http().post('/v1/clients').set(admin).send(aClient(serverId, overrides));
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    });

    it('refuses a second client with the same clientId at the same server (409)', async () => {
      const body = aClient(serverId);
      await api.http().post('/v1/clients').set(admin).send(body);
      const res = await api.http().post('/v1/clients').set(admin).send(body);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'already_exists', details: { field: 'clientId' } });
    });

    it('filters by phase, state, owner, tag and server, and pages with a cursor', async () => {
      const owner = `team-${Date.now()}`;
      for (let i = 0; i < 7; i++) {
        await api
          .http()
          .post('/v1/clients')
          .set(admin)
          .send(aClient(serverId, { owner, tags: i % 2 ? ['odd', 'x'] : ['even'] }));
      }
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: { id: string }[]; nextCursor: string | null } } = await api
          .http()
          .get('/v1/clients')
          .query({
            owner,
            phase: 'vendor_check',
            state: 'pending',
            authorizationServerId: serverId,
            limit: 3,
            ...(cursor ? { cursor } : {}),
          })
          .set(admin);
        ids.push(...res.body.items.map((c) => c.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(ids).toHaveLength(7);
      expect([...ids].sort()).toEqual(ids); // creation order
      expect((await api.http().get('/v1/clients').query({ owner, tag: 'odd' }).set(admin)).body.items).toHaveLength(3);
      expect(
        (await api.http().get('/v1/clients').query({ owner, phase: 'cutover' }).set(admin)).body.items,
      ).toHaveLength(0);
      const bad = await api.http().get('/v1/clients').query({ phase: 'launch', limit: 0 }).set(admin);
      expect(bad.status).toBe(400);
      expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['limit', 'phase']);
      expect(
        (await api.http().get('/v1/clients').query({ cursor: 'garbage' }).set(admin)).body.details.fields[0].field,
      ).toBe('cursor');
    });

    it('answers 404 for an unknown client and 400 for a malformed id', async () => {
      expect((await api.http().get('/v1/clients/01a20000-0000-7000-8000-000000000000').set(admin)).status).toBe(404);
      expect((await api.http().get('/v1/clients/42').set(admin)).body.details.fields[0]).toEqual({
        field: 'id',
        message: 'must be a UUID',
      });
    });
  });

  describe('phase transitions', () => {
    async function clientInState(phase: string, state: string): Promise<string> {
      const { body } = await api.http().post('/v1/clients').set(admin).send(aClient(serverId));
      await api.app
        .get(DataSource)
        .query('UPDATE clients SET phase = $2, state = $3 WHERE id = $1', [body.id, phase, state]);
      return body.id;
    }

    it('turns two concurrent advances into exactly one transition and one 409', async () => {
      const id = await clientInState('vendor_check', 'done');
      const results = await Promise.all([1, 2].map(() => api.http().post(`/v1/clients/${id}/advance`).set(admin)));
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const client = (await api.http().get(`/v1/clients/${id}`).set(admin)).body;
      expect(client).toMatchObject({ phase: 'key_registration', state: 'pending', version: 2 });
      const advances = await api
        .http()
        .get('/v1/audit/events')
        .query({ subjectId: id, action: 'client.advance' })
        .set(admin);
      expect(advances.body.items).toHaveLength(1);
    });

    it('refuses to advance an unmet gate, quoting it', async () => {
      const id = await clientInState('key_registration', 'waiting');
      const res = await api.http().post(`/v1/clients/${id}/advance`).set(admin);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 'gate_not_met',
        message: expect.stringContaining('private_key_jwt token request'),
      });
    });

    it('honours expectedVersion', async () => {
      const id = await clientInState('vendor_check', 'done');
      const res = await api.http().post(`/v1/clients/${id}/pause`).set(admin).send({ expectedVersion: 7 });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 'version_conflict',
        details: { field: 'expectedVersion', currentVersion: 1 },
      });
    });

    it('rolls back up to cutover, pausing the client, and never from secret revocation', async () => {
      const id = await clientInState('cutover', 'waiting');
      const back = await api.http().post(`/v1/clients/${id}/rollback`).set(admin);
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({
        client: { phase: 'parallel_auth', state: 'pending', paused: true },
        effects: [{ type: 'revert_at_server', from: 'cutover', to: 'parallel_auth' }],
      });
      const late = await clientInState('secret_revocation', 'waiting');
      const refused = await api.http().post(`/v1/clients/${late}/rollback`).set(admin);
      expect(refused.status).toBe(409);
      expect(refused.body.message).toContain('point of no return');
    });

    it('records an operator cutover confirmation with its note, and pauses and resumes', async () => {
      const id = await clientInState('cutover', 'waiting');
      expect(
        (await api.http().post(`/v1/clients/${id}/cutover/confirm`).set(admin).send({})).body.details.fields[0].field,
      ).toBe('note');
      const confirmed = await api
        .http()
        .post(`/v1/clients/${id}/cutover/confirm`)
        .set(admin)
        .send({ note: 'CHG-1234 deployed' });
      expect(confirmed.body.client).toMatchObject({ state: 'pending', cutoverConfirmedAt: expect.any(String) });
      const events = await api
        .http()
        .get('/v1/audit/events')
        .query({ subjectId: id, action: 'client.cutover_confirmed' })
        .set(admin);
      expect(events.body.items[0].after).toMatchObject({ note: 'CHG-1234 deployed' });
      expect((await api.http().post(`/v1/clients/${id}/pause`).set(admin)).body.client.paused).toBe(true);
      expect((await api.http().post(`/v1/clients/${id}/pause`).set(admin)).status).toBe(409);
      expect((await api.http().post(`/v1/clients/${id}/resume`).set(admin)).body.client).toMatchObject({
        paused: false,
        nextCheckAt: expect.any(String),
      });
    });
  });

  describe('bad bodies', () => {
    it.each([
      ['invalid JSON', 'application/json', '{"name":', 400, 'malformed_body', 'body'],
      ['an array where an object belongs', 'application/json', '[1]', 400, 'validation_failed', undefined],
      ['plain text', 'text/plain', 'hello', 415, 'unsupported_media_type', 'content-type'],
    ])('refuses %s', async (_, type, payload, status, code, field) => {
      const res = await api.http().post('/v1/authorization-servers').set(admin).set('Content-Type', type).send(payload);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      if (field) expect(res.body.details.field).toBe(field);
    });
  });
});
