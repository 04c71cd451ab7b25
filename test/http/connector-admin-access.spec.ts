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
