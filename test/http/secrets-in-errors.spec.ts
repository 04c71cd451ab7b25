import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * Issue 12, "Secrets": a form-encoded body was parsed and echoed whole in the 400. Here a secret is
 * sent in every malformed way we could think of, and must appear nowhere in the answer (body or
 * headers), whatever the status.
 */
describe('no secret in any error', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let serverId: string;
  // Looks like a real secret and like a plain name, so no "looks like a name" filter saves it.
  const SECRET = `cs_${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    api = await startTestApi({ KEYSHIFT_BODY_LIMIT_BYTES: '65536' });
    admin = api.as(api.adminToken);
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
  });
  afterAll(() => api.close());

  const clients = async () =>
    (await api.app.get(DataSource).query('SELECT count(*)::int AS n FROM clients'))[0].n as number;

  type Send = () => ReturnType<ReturnType<TestApi['http']>['post']>;
  // Bodies are built when each case runs: they need serverId, known only after beforeAll.
  const raw =
    (path: string, contentType: string, body: () => string): Send =>
    () =>
      api.http().post(path).set(admin).set('Content-Type', contentType).send(body());
  const json =
    (path: string, body: () => unknown): Send =>
    () =>
      api
        .http()
        .post(path)
        .set(admin)
        .send(body() as object);
  const csvRow = (secret: string) => `${serverId},c1,client_secret_basic,${secret},private_key_jwt,dpop,in_place`;

  const cases: [string, Send, number][] = [
    [
      'a form-encoded body',
      raw(
        '/v1/clients',
        'application/x-www-form-urlencoded',
        () => `clientSecret=${SECRET}&registrationAccessToken=${SECRET}`,
      ),
      415,
    ],
    [
      'a JSON body sent as a form',
      raw('/v1/clients', 'application/x-www-form-urlencoded', () =>
        JSON.stringify(aClient(serverId, { clientSecret: SECRET })),
      ),
      415,
    ],
    [
      'multipart/form-data',
      raw(
        '/v1/clients',
        'multipart/form-data; boundary=x',
        () => `--x\r\nContent-Disposition: form-data; name="clientSecret"\r\n\r\n${SECRET}\r\n--x--`,
      ),
      415,
    ],
    ['text/plain', raw('/v1/clients', 'text/plain', () => SECRET), 415],
    ['text/csv on a JSON route', raw('/v1/clients', 'text/csv', () => `clientSecret\n${SECRET}`), 415],
    ['XML', raw('/v1/clients', 'application/xml', () => `<clientSecret>${SECRET}</clientSecret>`), 415],
    ['invalid JSON: a bare word', raw('/v1/clients', 'application/json', () => SECRET), 400],
    ['invalid JSON: cut short', raw('/v1/clients', 'application/json', () => `{"clientSecret":"${SECRET}"`), 400],
    [
      'invalid JSON: a bad escape',
      raw('/v1/clients', 'application/json', () => `{"clientSecret":"${SECRET}\\q"}`),
      400,
    ],
    [
      'invalid JSON: a trailing comma',
      raw('/v1/clients', 'application/json', () => `{"clientSecret":"${SECRET}",}`),
      400,
    ],
    [
      'a JSON string where an object is expected',
      raw('/v1/clients', 'application/json', () => JSON.stringify(SECRET)),
      400,
    ],
    ['the secret as a property name', json('/v1/clients', () => ({ ...aClient(serverId), [SECRET]: SECRET })), 400],
    [
      'the secret as a nested property name',
      json('/v1/clients', () => aClient(serverId, { target: { [SECRET]: 1 } })),
      400,
    ],
    ['the secret in an array', json('/v1/clients', () => aClient(serverId, { clientSecret: [SECRET] })), 400],
    ['the secret in an object', json('/v1/clients', () => aClient(serverId, { clientSecret: { v: SECRET } })), 400],
    ['the secret as an enum value', json('/v1/clients', () => aClient(serverId, { authMethod: SECRET })), 400],
    ['the secret as a UUID', json('/v1/clients', () => aClient(serverId, { authorizationServerId: SECRET })), 400],
    ['the secret as a URL', json('/v1/clients', () => aClient(serverId, { registrationClientUri: SECRET })), 400],
    ['the secret as a date', json('/v1/clients', () => aClient(serverId, { secretIssuedAt: SECRET })), 400],
    ['an over-long secret', json('/v1/clients', () => aClient(serverId, { clientSecret: SECRET.repeat(200) })), 400],
    ['a secret with a NUL', json('/v1/clients', () => aClient(serverId, { clientSecret: `${SECRET}\u0000` })), 400],
    [
      'an import row with a bad field',
      json('/v1/clients/import', () => [aClient(serverId, { clientSecret: SECRET, authMethod: SECRET })]),
      422,
    ],
    ['an import row that is the secret', json('/v1/clients/import', () => [SECRET]), 422],
    [
      'a CSV import without its header row',
      raw('/v1/clients/import', 'text/csv', () => `${csvRow(SECRET)}\n${csvRow(SECRET)}`),
      400,
    ],
    [
      'a CSV import with the secret in a bad row',
      raw(
        '/v1/clients/import',
        'text/csv',
        () =>
          `authorizationServerId,clientId,authMethod,clientSecret,target.authMethod,target.senderConstraint,target.strategy\n${serverId},c1,${SECRET},${SECRET}`,
      ),
      422,
    ],
    [
      'a CSV import with an unterminated quote',
      raw('/v1/clients/import', 'text/csv', () => `authorizationServerId,clientSecret\n"${SECRET}`),
      400,
    ],
    [
      'a body over the size limit',
      raw('/v1/clients', 'application/json', () => JSON.stringify({ clientSecret: SECRET.repeat(3000) })),
      413,
    ],
    [
      'the secret as a campaign name of the wrong type',
      json('/v1/campaigns', () => ({ name: [SECRET], selector: { owner: SECRET } })),
      400,
    ],
  ];

  it.each(cases)('%s: the answer never holds the secret', async (_, send, status) => {
    const before = await clients();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.stringify(res.body) + res.text + JSON.stringify(res.headers)).not.toContain(SECRET);
    expect(await clients()).toBe(before);
  });

  it.each([
    ['an unknown query parameter', `/v1/clients?${SECRET}=1`],
    ['a query value of the wrong kind', `/v1/clients?authorizationServerId=${SECRET}&limit=${SECRET}`],
    ['a malformed path id', `/v1/clients/${SECRET}`],
    ['an unknown route', `/v1/${SECRET}?clientSecret=${SECRET}`],
    ['a bad cursor', `/v1/clients?cursor=${SECRET}`],
  ])('GET with %s: the answer never holds the secret', async (_, path) => {
    const res = await api.http().get(path).set(admin);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.text + JSON.stringify(res.headers)).not.toContain(SECRET);
  });

  it('a bad bearer token is not echoed', async () => {
    const res = await api.http().get('/v1/clients').set('Authorization', `Bearer ${SECRET}`);
    expect(res.status).toBe(401);
    expect(res.text + JSON.stringify(res.headers)).not.toContain(SECRET);
  });
});
