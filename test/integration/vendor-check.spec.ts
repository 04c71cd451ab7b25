import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Test, TestingModule } from '@nestjs/testing';
import { Phase, PhaseState } from '@keyshift/domain';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ClientEntity } from '@keyshift/features/clients/client.entity';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ProbeMethod } from '@keyshift/features/probes/probe.entity';
import { ProbeNotPossible, ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { generateKeyPair, generateProof } from 'dpop';
import { PeriodicJobs } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { waitFor } from '../support/wait-for';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/** A metadata server that misbehaves on demand: down (500), throttling (429), wrong issuer, not JSON. */
class MisbehavingMetadata {
  mode: 'ok' | '500' | '429' | 'wrong-issuer' | 'not-json' | 'no-private-key-jwt' | 'down' | 'slow' = 'ok';
  hits = 0;
  private server!: Server;
  issuer = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.hits++;
      // Each test uses its own tenant path as issuer: http://127.0.0.1:port/<tenant>.
      const match = /^(\/[^/]+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '');
      if (!match) return void res.writeHead(404).end();
      const issuer = `${this.issuer}${match[1]}`;
      if (this.mode === '500') return void res.writeHead(500).end('oops');
      if (this.mode === 'down') return void req.socket.destroy();
      if (this.mode === 'slow') return void setTimeout(() => res.writeHead(500).end(), 3000);
      if (this.mode === '429') return void res.writeHead(429, { 'retry-after': '1' }).end();
      if (this.mode === 'not-json')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
      const methods =
        this.mode === 'no-private-key-jwt' ? ['client_secret_basic'] : ['client_secret_basic', 'private_key_jwt'];
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: this.mode === 'wrong-issuer' ? 'https://evil.example.com' : issuer,
          token_endpoint: `${issuer}/token`,
          token_endpoint_auth_methods_supported: methods,
          token_endpoint_auth_signing_alg_values_supported: ['RS256'],
          registration_endpoint: `${issuer}/reg`,
        }),
      );
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe('vendor check against a real authorization server (oidc-provider) and a misbehaving one', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  /** oidc-provider that accepts (and advertises) only EdDSA DPoP proofs. */
  let eddsaOnly: TestAuthorizationServer;
  const bad = new MisbehavingMetadata();
  let worker: TestingModule;
  let ds: DataSource;

  beforeAll(async () => {
    [db, as, eddsaOnly] = await Promise.all([
      createTestDatabase(),
      startTestAuthorizationServer(),
      startTestAuthorizationServer(['--dpop-algs', 'EdDSA']),
      bad.start(),
    ]);
    const config = testConfig(db, {
      KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
      KEYSHIFT_DISCOVERY_RECHECK_SECONDS: '1',
      KEYSHIFT_OUTBOUND_TIMEOUT_MS: '2000',
    });
    worker = await Test.createTestingModule({ imports: [WorkerModule.register(config)] }).compile();
    await worker.init();
    ds = worker.get(DataSource);
  });
  afterAll(async () => {
    worker.get(PeriodicJobs).onApplicationShutdown();
    await worker.close();
    await Promise.all([as.stop(), eddsaOnly.stop(), bad.stop(), db.drop()]);
  });

  const server = (id: string) => ds.getRepository(AuthorizationServerEntity).findOneByOrFail({ id });
  const client = (id: string) => ds.getRepository(ClientEntity).findOneByOrFail({ id });
  const createServer_ = (issuer: string) =>
    worker.get(AuthorizationServersService).create(anAuthorizationServer({ issuer }) as never, operator);

  it('discovers oidc-provider and moves a client through vendor_check on that evidence', async () => {
    const created = await createServer_(as.issuer);
    const discovered = await waitFor(
      () => server(created.id),
      (s) => s.discoveryStatus !== null,
    );
    expect(discovered).toMatchObject({
      discoveryStatus: 'ok',
      capabilities: {
        tokenEndpoint: `${as.issuer}/token`,
        tokenEndpointAuthMethods: expect.arrayContaining([
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'tls_client_auth',
          'self_signed_tls_client_auth',
        ]),
        tokenEndpointAuthSigningAlgs: expect.arrayContaining(['ES256', 'PS256', 'RS256', 'EdDSA']),
        dpopSigningAlgs: expect.arrayContaining(['ES256']),
        registrationEndpoint: `${as.issuer}/reg`,
        mtlsEndpointAliases: expect.any(Object),
      },
    });

    const registered = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const c = await worker
      .get(ClientsService)
      .create(
        aClient(created.id, { clientId: registered.client_id, clientSecret: registered.client_secret }) as never,
        operator,
      );
    // Outside a campaign the client stops at the gate until an operator advances it.
    const moved = await waitFor(
      () => client(c.id),
      (x) => x.state === PhaseState.Done && x.nextCheckAt === null,
    );
    expect(moved).toMatchObject({ phase: Phase.VendorCheck, state: PhaseState.Done, nextCheckAt: null });
    const evidence = (await worker.get(AuditLog).list({ subjectId: c.id, action: 'client.evidence', limit: 5 }))
      .items[0];
    expect(evidence.after).toMatchObject({
      event: { evidence: { kind: 'vendor_support', supported: true } },
      state: 'done',
    });
  });

  it('blocks a client whose server lacks the target method, naming what is missing', async () => {
    bad.mode = 'no-private-key-jwt';
    const created = await createServer_(`${bad.issuer}/tenant-unsupported`);
    const c = await worker.get(ClientsService).create(
      aClient(created.id, {
        target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
      }) as never,
      operator,
    );
    const blocked = await waitFor(
      () => client(c.id),
      (x) => x.state === PhaseState.Blocked,
    );
    expect(blocked).toMatchObject({ phase: Phase.VendorCheck, state: PhaseState.Blocked });
    expect(blocked.stateReason).toContain('token_endpoint_auth_method private_key_jwt');
    expect(blocked.stateReason).toContain('DPoP');
  });

  it('agrees with the probes about a server that takes only EdDSA DPoP proofs: blocked up front, by name', async () => {
    const created = await createServer_(eddsaOnly.issuer);
    const discovered = await waitFor(
      () => server(created.id),
      (s) => s.discoveryStatus !== null,
    );
    expect(discovered.capabilities?.dpopSigningAlgs).toEqual(['EdDSA']);
    const registered = await eddsaOnly.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const c = await worker.get(ClientsService).create(
      aClient(created.id, {
        clientId: registered.client_id,
        clientSecret: registered.client_secret,
        target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
      }) as never,
      operator,
    );
    // Phase 1 refuses the migration before anything changes at the server...
    const blocked = await waitFor(
      () => client(c.id),
      (x) => x.state === PhaseState.Blocked,
    );
    expect(blocked).toMatchObject({ phase: Phase.VendorCheck, state: PhaseState.Blocked });
    expect(blocked.stateReason).toContain('DPoP with a proof alg Keyshift signs with (ES256, Ed25519, PS256, RS256)');
    // ...because the probes, reading the same table, could not sign a DPoP proof it accepts...
    await expect(
      worker
        .get(ProbeRunner)
        .run({ clientRowId: c.id, method: ProbeMethod.ClientSecretBasic, dpop: true, purpose: 'test' }),
    ).rejects.toThrow(ProbeNotPossible);
    // ...and the server does refuse the proof Keyshift's DPoP library writes for Ed25519 keys.
    const tokenEndpoint = discovered.capabilities!.tokenEndpoint;
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await generateProof(await generateKeyPair('Ed25519'), tokenEndpoint, 'POST'),
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it.each([
    ['a document whose issuer differs', 'wrong-issuer', 'does not match the configured issuer'],
    ['a document that is not JSON', 'not-json', 'not valid JSON'],
    ['HTTP 500', '500', 'HTTP 500'],
    ['HTTP 429', '429', 'HTTP 429'],
    ['a server that is down', 'down', 'could not be reached'],
    ['a server slower than the timeout', 'slow', 'did not answer within 2000 ms'],
  ] as const)(
    'holds clients back on %s, says why, and recovers once the server is healthy',
    async (_, mode, reason) => {
      bad.mode = mode;
      const created = await createServer_(`${bad.issuer}/tenant-${mode}`);
      const failed = await waitFor(
        () => server(created.id),
        (s) => s.discoveryStatus === 'failed',
      );
      expect(failed.discoveryError).toContain(reason);
      const c = await worker.get(ClientsService).create(
        aClient(created.id, {
          target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
        }) as never,
        operator,
      );
      const waiting = await waitFor(
        () => client(c.id),
        (x) => x.state === PhaseState.Waiting && (x.stateReason ?? '').includes('discovery failed'),
      );
      expect(waiting).toMatchObject({ phase: Phase.VendorCheck, state: PhaseState.Waiting });
      expect(waiting.stateReason).toContain(reason);

      bad.mode = 'ok';
      const recovered = await waitFor(
        () => client(c.id),
        (x) => x.state === PhaseState.Done,
        25_000,
      );
      expect(recovered).toMatchObject({ phase: Phase.VendorCheck, state: PhaseState.Done });
    },
  );
});
