import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { ManualConnector } from '@keyshift/features/connectors/manual.connector';
import { Registrar } from '@keyshift/features/connectors/registrar';
import { ConnectorError } from '@keyshift/features/connectors/server-connector';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient } from '../support/factories';
import { discoveredServer } from '../support/discovered-server';
import { insertActiveKey } from '../support/keyed-client';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/**
 * The RFC 7592 connector, through the Registrar that journals, seals and audits around it, against the
 * real oidc-provider, which rotates the registration access token on every PUT.
 */
describe('connectors', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let worker: TestingModule;
  let ds: DataSource;
  let serverId: string;
  let server: AuthorizationServerEntity;

  beforeAll(async () => {
    [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer()]);
    worker = await Test.createTestingModule({
      imports: [WorkerModule.register(testConfig(db, { KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600' }))],
    }).compile();
    ds = worker.get(DataSource);
    serverId = await discoveredServer(worker, as.issuer);
    server = await ds.getRepository(AuthorizationServerEntity).findOneByOrFail({ id: serverId });
  });
  afterAll(async () => {
    await worker.close();
    await Promise.all([as.stop(), db.drop()]);
  });

  async function managedClient(overrides: Record<string, unknown> = {}) {
    const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const view = await worker.get(ClientsService).create(
      aClient(serverId, {
        clientId: reg.client_id,
        clientSecret: reg.client_secret,
        registrationAccessToken: reg.registration_access_token,
        registrationClientUri: reg.registration_client_uri,
        ...overrides,
      }) as never,
      operator,
    );
    return { client: { id: view.id, clientId: reg.client_id }, reg };
  }
  const tokenFingerprint = async (id: string) =>
    (await ds.query('SELECT registration_access_token_fingerprint AS f FROM clients WHERE id = $1', [id]))[0].f as
      string | null;
  const probe = (clientRowId: string, method: ProbeMethod) =>
    worker.get(ProbeRunner).run({ clientRowId, method, dpop: false, purpose: 'test' });

  it('reads, switches the method atomically with the key inline, stores each rotated token, and deletes', async () => {
    const registrar = worker.get(Registrar);
    const { client, reg } = await managedClient();
    const read = await registrar.read(client, server);
    expect(read).toMatchObject({ client_id: reg.client_id, token_endpoint_auth_method: 'client_secret_basic' });
    expect(read).not.toHaveProperty('client_secret');
    expect(read).not.toHaveProperty('registration_access_token');

    const key = await insertActiveKey(worker, client.id);
    const before = await tokenFingerprint(client.id);
    const switched = await registrar.update(
      client,
      server,
      'original',
      {
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [key.publicJwk] },
      },
      { authMethod: 'private_key_jwt' },
    );
    expect(switched).toMatchObject({ kind: 'applied', metadata: { token_endpoint_auth_method: 'private_key_jwt' } });
    expect(await tokenFingerprint(client.id)).not.toBe(before); // rotated by the server, stored by Keyshift
    expect(await probe(client.id, ProbeMethod.PrivateKeyJwt)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      kid: key.kid,
    });
    expect(await probe(client.id, ProbeMethod.ClientSecretBasic)).toMatchObject({
      outcome: ProbeOutcome.Rejected,
      errorCode: 'invalid_client',
    });

    // The state the change leads to is recorded with it.
    const [{ registration_state: recorded }] = await ds.query('SELECT registration_state FROM clients WHERE id = $1', [
      client.id,
    ]);
    expect(recorded).toEqual({ authMethod: 'private_key_jwt' });

    // The stored (rotated) token works for the next change.
    await registrar.update(client, server, 'original', { dpop_bound_access_tokens: true }, null);
    expect(await registrar.read(client, server)).toMatchObject({
      dpop_bound_access_tokens: true,
      token_endpoint_auth_method: 'private_key_jwt',
    });
    const events = (
      await worker.get(AuditLog).list({ subjectId: client.id, action: 'client.registration_updated', limit: 5 })
    ).items;
    expect(events.map((e) => e.after)).toContainEqual({
      change: {
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { kids: [key.kid] },
      },
      clientId: reg.client_id,
      registration: 'original',
      serverMs: expect.any(Number),
      registrationAccessTokenRotated: true,
    });
    expect(JSON.stringify(events)).not.toContain(reg.registration_access_token);

    await registrar.remove(client, server, 'original', null);
    expect(await tokenFingerprint(client.id)).toBeNull();
    expect(await probe(client.id, ProbeMethod.PrivateKeyJwt)).toMatchObject({
      outcome: ProbeOutcome.Rejected,
    });
    await expect(registrar.read(client, server)).rejects.toMatchObject({
      transient: false,
      message: expect.stringContaining('no registration access token'),
    });
  });

  it('reports a refused token as needing a person, without the token in the message', async () => {
    const { client } = await managedClient({ registrationAccessToken: 'not-the-token' });
    const error = (await worker
      .get(Registrar)
      .read(client, server)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ transient: false, httpStatus: 401 });
    expect(error.message).toMatch(/registration access token was refused/);
    expect(error.message).not.toContain('not-the-token');
  });

  it('refuses metadata the server rejects, as needing a person', async () => {
    const { client } = await managedClient();
    const error = (await worker
      .get(Registrar)
      .update(
        client,
        server,
        'original',
        { token_endpoint_auth_method: 'private_key_jwt' },
        { authMethod: 'private_key_jwt' },
      )
      .catch((e: unknown) => e)) as ConnectorError;
    expect(error).toMatchObject({ transient: false, httpStatus: 400 });
    expect(error.message).toMatch(/invalid_client_metadata/);
    // Refused at the server: the journal says so, and nothing was recorded as done.
    const [exchange] = await ds.query(
      'SELECT status, resolution FROM registration_exchanges WHERE client_row_id = $1',
      [client.id],
    );
    expect(exchange).toEqual({ status: 'refused', resolution: expect.stringMatching(/invalid_client_metadata/) });
    const [{ registration_state: state }] = await ds.query('SELECT registration_state FROM clients WHERE id = $1', [
      client.id,
    ]);
    expect(state).toEqual({});
  });

  it('never takes a successor registration_client_uri outside the registration endpoint, so its token goes nowhere else', async () => {
    // A registration endpoint that answers with a management URI on another origin (where the token would go).
    const hits: string[] = [];
    const elsewhere = createServer((req, res) => void (hits.push(req.url ?? ''), res.writeHead(200).end('{}')));
    const endpoint = createServer((req, res) => {
      req.resume();
      const port = (elsewhere.address() as AddressInfo).port;
      res.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: 'successor-1',
          registration_access_token: 'successor-token',
          registration_client_uri: `http://127.0.0.1:${port}/reg/successor-1`,
        }),
      );
    });
    await Promise.all([elsewhere, endpoint].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    try {
      const { client } = await managedClient();
      const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/reg`;
      const elsewhereServer = { ...server, capabilities: { ...server.capabilities!, registrationEndpoint: url } };
      const error = (await worker
        .get(Registrar)
        .register(client, elsewhereServer, { client_name: 'x' }, null)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ transient: false });
      expect(error.message).toMatch(/the answer's registration_client_uri .*; delete the registration at the server/);
      expect(error.message).not.toContain('successor-token');
      const [row] = await ds.query(
        'SELECT successor_client_id, successor_registration_access_token_ciphertext AS t FROM clients WHERE id = $1',
        [client.id],
      );
      expect(row).toEqual({ successor_client_id: null, t: null });
      expect(hits).toEqual([]);
    } finally {
      await Promise.all([elsewhere, endpoint].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('the manual connector hands the change to an operator, word for word', async () => {
    const result = await worker.get(ManualConnector).update(
      {
        server: { id: serverId, issuer: as.issuer, tokenEndpoint: null, registrationEndpoint: null, admin: null },
        clientId: 'billing-api',
        registration: 'original',
        registrationClientUri: null,
        registrationAccessToken: null,
      },
      {
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks_uri: 'https://ks.example.com/jwks/abc.json',
      },
    );
    expect(result).toEqual({
      kind: 'awaiting_operator',
      instructions: [
        'Open client billing-api at the authorization server.',
        'Set its token endpoint authentication method to private_key_jwt with signing algorithm ES256.',
        'Set its JWKS URL (jwks_uri) to https://ks.example.com/jwks/abc.json',
        'Then confirm through the Keyshift API.',
      ],
    });
  });
});
