import { DataSource } from 'typeorm';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * Outbound trust over HTTP: the allowlist is host:port (an issuer on another port of an allowed
 * host is refused), a server names the extra hosts its endpoints may be on, and a client's
 * registrationClientUri must be under the server's registration endpoint.
 */
describe('outbound trust over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let viewer: { Authorization: string };

  beforeAll(async () => {
    // Exact host:port, as production would configure it: only the authorization server's port.
    api = await startTestApi({ KEYSHIFT_OUTBOUND_ALLOWLIST: '127.0.0.1:4000' });
    admin = api.as(api.adminToken);
    const token = await api.http().post('/v1/api-tokens').set(admin).send({ name: 'v', role: Role.Viewer });
    viewer = api.as(token.body.token);
  });
  afterAll(() => api.close());

  const count = async (table: string) =>
    (await api.app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;
  const createServer = (overrides: Record<string, unknown>) =>
    api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer(overrides));

  it.each([
    ['http on the Redis port of an allowed host', 'http://127.0.0.1:6379'],
    ['http on the PostgreSQL port of an allowed host', 'http://127.0.0.1:5432/pg'],
    ['https on another port of an allowed host', 'https://127.0.0.1:6379'],
    ['https on a private address', 'https://10.1.2.3'],
    ['an IPv4-compatible loopback address', 'https://[::7f00:2]'],
    ['an IPv4-translated loopback address', 'https://[::ffff:0:7f00:2]'],
  ])('refuses an issuer: %s', async (_, issuer) => {
    const before = await count('authorization_servers');
    const res = await createServer({ issuer });
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toEqual([{ field: 'issuer', message: expect.any(String) }]);
    expect(JSON.stringify(res.body)).not.toContain(issuer);
    expect(await count('authorization_servers')).toBe(before);
  });

  it('accepts the allowed host:port over http', async () => {
    expect((await createServer({ issuer: 'http://127.0.0.1:4000/ok' })).status).toBe(201);
  });

  it('stores trustedHosts normalised, and names a bad entry by position', async () => {
    const created = await createServer({ trustedHosts: ['MTLS.Idp.example.com', 'backchannel.example.com:8443'] });
    expect(created.status).toBe(201);
    expect(created.body.trustedHosts).toEqual(['mtls.idp.example.com', 'backchannel.example.com:8443']);
    for (const [bad, field] of [
      [['https://mtls.idp.example.com'], 'trustedHosts[0]'],
      [['ok.example.com', 'idp.example.com:*'], 'trustedHosts[1]'],
    ] as const) {
      const res = await createServer({ trustedHosts: bad });
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toEqual([{ field, message: expect.any(String) }]);
    }
  });

  it('PATCH replaces trustedHosts (operator only), audits it, and refuses bad input', async () => {
    const id = (await createServer({})).body.id as string;
    const patch = (body: unknown, as = admin) =>
      api
        .http()
        .patch(`/v1/authorization-servers/${id}`)
        .set(as)
        .send(body as object);
    expect((await patch({ trustedHosts: ['mtls.example.com'] }, viewer)).status).toBe(403);
    const res = await patch({ trustedHosts: ['mtls.example.com'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ trustedHosts: ['mtls.example.com'], version: 2 });
    expect((await api.http().get(`/v1/authorization-servers/${id}`).set(admin)).body.trustedHosts).toEqual([
      'mtls.example.com',
    ]);
    const events = await api
      .http()
      .get(`/v1/audit/events?subjectId=${id}&action=authorization_server.updated`)
      .set(admin);
    expect(events.body.items).toHaveLength(1);
    for (const [body, field] of [
      [{ trustedHosts: ['a b'] }, 'trustedHosts[0]'],
      [{ trustedHosts: 'mtls.example.com' }, 'trustedHosts'],
      [{}, 'trustedHosts'],
      [{ trustedHosts: [], issuer: 'https://other.example.com' }, null], // only trustedHosts may change
    ] as const) {
      const bad = await patch(body);
      expect(bad.status).toBe(400);
      if (field) expect(bad.body.details.fields).toContainEqual({ field, message: expect.any(String) });
    }
    expect(
      (
        await api
          .http()
          .patch('/v1/authorization-servers/0190a8b4-0000-7000-8000-000000000000')
          .set(admin)
          .send({ trustedHosts: [] })
      ).status,
    ).toBe(404);
  });

  describe('registrationClientUri', () => {
    let serverId: string;
    let discoveredId: string;
    beforeAll(async () => {
      serverId = (await createServer({ issuer: 'https://idp.example.com/t1', trustedHosts: ['reg.example.com'] })).body
        .id;
      discoveredId = (await createServer({ issuer: 'https://idp.example.com/t2' })).body.id;
      // As discovery records it (no outbound call in this test).
      await api.app
        .get(DataSource)
        .query(
          `UPDATE authorization_servers SET capabilities = $2, capabilities_checked_at = now(), discovery_status = 'ok' WHERE id = $1`,
          [
            discoveredId,
            JSON.stringify({
              tokenEndpoint: 'https://idp.example.com/t2/token',
              tokenEndpointAuthMethods: ['client_secret_basic'],
              tokenEndpointAuthSigningAlgs: [],
              dpopSigningAlgs: [],
              mtlsEndpointAliases: null,
              registrationEndpoint: 'https://idp.example.com/t2/reg',
              discoveredFrom: 'test',
            }),
          ],
        );
    });

    it.each([
      ['before discovery: on the issuer host', () => serverId, 'https://idp.example.com/t1/reg/abc', 201],
      ['before discovery: on a trusted host', () => serverId, 'https://reg.example.com/clients/abc', 201],
      ['before discovery: on another origin', () => serverId, 'https://evil.example.net/reg/abc', 400],
      ['before discovery: on another port', () => serverId, 'https://idp.example.com:6379/reg/abc', 400],
      [
        'after discovery: under the registration endpoint',
        () => discoveredId,
        'https://idp.example.com/t2/reg/abc',
        201,
      ],
      [
        'after discovery: elsewhere on the issuer host',
        () => discoveredId,
        'https://idp.example.com/t2/admin/abc',
        400,
      ],
      ['after discovery: on another origin', () => discoveredId, 'https://evil.example.net/t2/reg/abc', 400],
    ])('%s', async (_, server, uri, status) => {
      const res = await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(server(), { registrationClientUri: uri }));
      expect(res.status).toBe(status);
      if (status === 400) {
        expect(res.body.details.fields).toEqual([{ field: 'registrationClientUri', message: expect.any(String) }]);
        expect(JSON.stringify(res.body)).not.toContain('evil');
      }
    });

    it('is checked per row in imports', async () => {
      const rows = [
        aClient(discoveredId, { registrationClientUri: 'https://idp.example.com/t2/reg/one' }),
        aClient(discoveredId, { registrationClientUri: 'https://evil.example.net/t2/reg/two' }),
      ];
      const before = await count('clients');
      const rejected = await api.http().post('/v1/clients/import').set(admin).send(rows);
      expect(rejected.status).toBe(422);
      expect(rejected.body.details.errors).toEqual([
        { row: 2, field: 'registrationClientUri', message: expect.any(String) },
      ]);
      expect(await count('clients')).toBe(before);
      const skipped = await api.http().post('/v1/clients/import?onError=skip').set(admin).send(rows);
      expect(skipped.body).toMatchObject({ created: 1, rejected: 1 });
    });
  });
});
