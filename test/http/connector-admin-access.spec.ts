import { DataSource } from 'typeorm';
import { anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * A vendor admin-API connector's access over HTTP: the admin URL and credential it needs, each
 * wrong field named without its value, nothing stored on a refusal, and the secret part sealed:
 * never in an answer or an audit event.
 */
describe('connector admin access over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  const SECRET = 'sa-secret-1f2e3d4c5b6a';
  const keycloak = (connector: Record<string, unknown>) =>
    anAuthorizationServer({
      issuer: 'https://kc.example.com/realms/acme',
      connector: { type: 'keycloak', ...connector },
    });
  const valid = {
    adminUrl: 'https://kc.example.com/admin/realms/acme',
    credential: { kind: 'client_credentials', clientId: 'keyshift-admin', clientSecret: SECRET },
  };

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
  });
  afterAll(() => api.close());

  const count = async () =>
    (await api.app.get(DataSource).query(`SELECT count(*)::int AS n FROM authorization_servers`))[0].n as number;

  it.each([
    ['no admin URL', { credential: valid.credential }, ['connector.adminUrl']],
    ['no credential', { adminUrl: valid.adminUrl }, ['connector.credential']],
    [
      'an admin URL on another host',
      { ...valid, adminUrl: 'https://elsewhere.example.net/admin' },
      ['connector.adminUrl'],
    ],
    [
      'an admin URL over http',
      { ...valid, adminUrl: 'http://kc.example.com/admin/realms/acme' },
      ['connector.adminUrl'],
    ],
    [
      'a client_credentials credential without its secret, with a token',
      { ...valid, credential: { kind: 'client_credentials', clientId: 'x', token: SECRET } },
      ['connector.credential.clientSecret', 'connector.credential.token'],
    ],
    [
      'an unknown credential kind',
      { ...valid, credential: { kind: 'password', clientSecret: SECRET } },
      ['connector.credential.kind'],
    ],
  ])('refuses %s, naming the field and never the secret', async (_, connector, fields) => {
    const before = await count();
    const res = await api.http().post('/v1/authorization-servers').set(admin).send(keycloak(connector));
    expect(res.status).toBe(400);
    expect((res.body.details.fields as { field: string }[]).map((f) => f.field)).toEqual(fields);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(await count()).toBe(before);
  });

  it("defaults the assertion audience to what the connector's profile accepts", async () => {
    const okta = await api
      .http()
      .post('/v1/authorization-servers')
      .set(admin)
      .send(
        anAuthorizationServer({
          issuer: 'https://acme.okta.example.com',
          connector: {
            type: 'okta',
            adminUrl: 'https://acme.okta.example.com/api/v1',
            credential: { kind: 'ssws', token: 'tok00' },
          },
        }),
      );
    expect(okta.status).toBe(201);
    expect(okta.body.assertionAudience).toBe('token_endpoint');
    expect(okta.body.connector.credential).toEqual({ kind: 'ssws', clientId: null, scope: null });
    const rfc = await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer());
    expect(rfc.body.assertionAudience).toBe('issuer');
  });

  it('refuses admin access for a connector that uses none', async () => {
    const res = await api
      .http()
      .post('/v1/authorization-servers')
      .set(admin)
      .send(anAuthorizationServer({ connector: { type: 'rfc7592', ...valid } }));
    expect(res.status).toBe(400);
    expect((res.body.details.fields as { field: string }[]).map((f) => f.field)).toEqual([
      'connector.adminUrl',
      'connector.credential',
    ]);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
  });

  it('stores the credential sealed and shows only its public part', async () => {
    const created = await api.http().post('/v1/authorization-servers').set(admin).send(keycloak(valid));
    expect(created.status).toBe(201);
    const shown = {
      type: 'keycloak',
      adminUrl: valid.adminUrl,
      credential: { kind: 'client_credentials', clientId: 'keyshift-admin', scope: null },
      adminCallsPerMinute: null,
    };
    expect(created.body.connector).toEqual(shown);
    const read = await api.http().get(`/v1/authorization-servers/${created.body.id}`).set(admin);
    expect(read.body.connector).toEqual(shown);
    const list = await api.http().get('/v1/authorization-servers').set(admin);
    for (const body of [created.body, read.body, list.body]) expect(JSON.stringify(body)).not.toContain(SECRET);

    const ds = api.app.get(DataSource);
    const [row] = (await ds.query(`SELECT admin_credential_ciphertext AS c FROM authorization_servers WHERE id = $1`, [
      created.body.id,
    ])) as { c: Buffer }[];
    expect(row.c.includes(Buffer.from(SECRET))).toBe(false);
    const leaks = (await ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE strpos(after::text, $1) > 0`, [
      SECRET,
    ])) as {
      n: number;
    }[];
    expect(leaks[0].n).toBe(0);
  });
});

describe('admin access changes and inventory routes over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  const OLD = 'old-secret-9a8b7c';
  const NEW = 'new-secret-1a2b3c';
  let serverId: string;

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    const created = await api
      .http()
      .post('/v1/authorization-servers')
      .set(admin)
      .send(
        anAuthorizationServer({
          issuer: 'https://kc.example.com/realms/acme',
          trustedHosts: ['kc-admin.example.com'],
          connector: {
            type: 'keycloak',
            adminUrl: 'https://kc-admin.example.com/admin/realms/acme',
            credential: { kind: 'client_credentials', clientId: 'keyshift-admin', clientSecret: OLD },
          },
        }),
      );
    expect(created.status).toBe(201);
    serverId = created.body.id;
  });
  afterAll(() => api.close());

  it('refuses trusted hosts that would leave the admin URL outside the server, changing nothing', async () => {
    const res = await api.http().patch(`/v1/authorization-servers/${serverId}`).set(admin).send({ trustedHosts: [] });
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toEqual([
      { field: 'trustedHosts', message: expect.stringContaining('connector.adminUrl') },
    ]);
    const read = await api.http().get(`/v1/authorization-servers/${serverId}`).set(admin);
    expect(read.body.trustedHosts).toEqual(['kc-admin.example.com']);
  });

  it('replaces the admin access: sealed anew, the version moved on, audited without either secret', async () => {
    const before = (await api.http().get(`/v1/authorization-servers/${serverId}`).set(admin)).body;
    const bad = await api
      .http()
      .put(`/v1/authorization-servers/${serverId}/admin-access`)
      .set(admin)
      .send({
        adminUrl: 'https://kc.example.com/admin/realms/acme?x=1',
        credential: { kind: 'bearer', token: 'a\nb' },
      });
    expect(bad.status).toBe(400);
    expect((bad.body.details.fields as { field: string }[]).map((f) => f.field)).toEqual(['credential.token']);
    const query = await api
      .http()
      .put(`/v1/authorization-servers/${serverId}/admin-access`)
      .set(admin)
      .send({ adminUrl: 'https://kc.example.com/admin/realms/acme?x=1', credential: { kind: 'bearer', token: NEW } });
    expect(query.status).toBe(400);
    expect(query.body.details.fields).toEqual([{ field: 'adminUrl', message: 'must not have a query string' }]);

    const res = await api
      .http()
      .put(`/v1/authorization-servers/${serverId}/admin-access`)
      .set(admin)
      .send({
        adminUrl: 'https://kc.example.com/admin/realms/acme',
        credential: { kind: 'client_credentials', clientId: 'keyshift-admin-2', clientSecret: NEW },
        adminCallsPerMinute: 120,
      });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(before.version + 1);
    expect(res.body.connector).toEqual({
      type: 'keycloak',
      adminUrl: 'https://kc.example.com/admin/realms/acme',
      credential: { kind: 'client_credentials', clientId: 'keyshift-admin-2', scope: null },
      adminCallsPerMinute: 120,
    });
    const ds = api.app.get(DataSource);
    for (const secret of [OLD, NEW]) {
      expect(JSON.stringify(res.body)).not.toContain(secret);
      const [{ n }] = (await ds.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE strpos(coalesce(after::text, '') || coalesce(before::text, ''), $1) > 0`,
        [secret],
      )) as { n: number }[];
      expect(n).toBe(0);
    }
    const [event] = (await ds.query(
      `SELECT after FROM audit_events WHERE action = 'authorization_server.admin_access_replaced' AND subject_id = $1`,
      [serverId],
    )) as { after: Record<string, unknown> }[];
    expect(event.after).toMatchObject({ credential: { clientId: 'keyshift-admin-2' } });
  });

  it('names bad inventory input: a cursor it never issued, a bad tag, a run that is not done', async () => {
    const run = await api.http().post(`/v1/authorization-servers/${serverId}/inventory`).set(admin);
    expect(run.status).toBe(202);
    for (const cursor of ['%E0%A4%A', '\u0000', 'x'.repeat(3000)]) {
      const res = await api
        .http()
        .get(`/v1/authorization-servers/${serverId}/inventory/${run.body.id}`)
        .query({ cursor })
        .set(admin);
      expect(res.status).toBe(400);
      expect(res.body.details.fields[0].field).toBe('cursor');
    }
    const tags = await api
      .http()
      .post(`/v1/authorization-servers/${serverId}/inventory/${run.body.id}/import`)
      .set(admin)
      .send({
        clientIds: ['a'],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
        tags: ['-bad tag'],
      });
    expect(tags.status).toBe(400);
    expect(tags.body.details.fields[0].field).toMatch(/^tags/);
    const early = await api
      .http()
      .post(`/v1/authorization-servers/${serverId}/inventory/${run.body.id}/import`)
      .set(admin)
      .send({
        clientIds: ['a'],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
      });
    expect(early.status).toBe(409);
    expect(early.body.message).toMatch(/not done/);
  });
});
