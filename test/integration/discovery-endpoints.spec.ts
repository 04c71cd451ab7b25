import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ProbeMethod } from '@keyshift/features/probes/probe.entity';
import { ProbeNotPossible, ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { PeriodicJobs } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient, anAuthorizationServer } from '../support/factories';
import { waitFor } from '../support/wait-for';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/** Counts every request it receives: stands for "another origin" that must never hear from Keyshift. */
async function listen(handler: (req: { url?: string }, res: import('node:http').ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('discovery validates every endpoint before anything is sent to it', () => {
  let db: TestDatabase;
  let worker: TestingModule;
  let ds: DataSource;
  let metadata: Server;
  let elsewhere: Server;
  let issuerBase = '';
  let elsewherePort = 0;
  const elsewhereHits: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ server: elsewhere, port: elsewherePort } = await listen((req, res) => {
      elsewhereHits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","token_type":"Bearer"}');
    }));
    // A metadata document whose token endpoint is on another origin (same host, another port).
    ({ server: metadata } = await listen((req, res) => {
      const match = /^(\/[^/]+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '');
      if (!match) return void res.writeHead(404).end();
      const issuer = `${issuerBase}${match[1]}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          token_endpoint: `http://127.0.0.1:${elsewherePort}/token`,
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
          registration_endpoint: `${issuer}/reg`,
        }),
      );
    }));
    issuerBase = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    // 127.0.0.1 on any port is allowlisted here: the endpoint policy, not the allowlist, must stop it.
    const config = testConfig(db, { KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600' });
    worker = await Test.createTestingModule({ imports: [WorkerModule.register(config)] }).compile();
    await worker.init();
    ds = worker.get(DataSource);
  });
  afterAll(async () => {
    worker.get(PeriodicJobs).onApplicationShutdown();
    await worker.close();
    for (const s of [metadata, elsewhere]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await db.drop();
  });

  const serverRow = (id: string) => ds.getRepository(AuthorizationServerEntity).findOneByOrFail({ id });

  it('records a token endpoint on another origin as a failed discovery, and never sends it a secret', async () => {
    const servers = worker.get(AuthorizationServersService);
    const created = await servers.create(anAuthorizationServer({ issuer: `${issuerBase}/t1` }) as never, operator);
    const failed = await waitFor(
      () => serverRow(created.id),
      (s) => s.discoveryStatus !== null,
    );
    expect(failed).toMatchObject({ discoveryStatus: 'failed', capabilities: null });
    expect(failed.discoveryError).toMatch(
      new RegExp(`token_endpoint is on 127\\.0\\.0\\.1:${elsewherePort}, which is neither on the issuer's host`),
    );
    const audit = await worker
      .get(AuditLog)
      .list({ subjectId: created.id, action: 'authorization_server.discovery_failed', limit: 5 });
    expect(audit.items[0].after).toMatchObject({
      status: 'invalid',
      reason: expect.stringContaining('token_endpoint'),
    });

    // Capabilities stored before this check existed are refused at use time too.
    const client = await worker.get(ClientsService).create(aClient(created.id) as never, operator);
    await ds.query(
      `UPDATE authorization_servers SET capabilities = $2, capabilities_checked_at = now(), discovery_status = 'ok' WHERE id = $1`,
      [
        created.id,
        JSON.stringify({
          tokenEndpoint: `http://127.0.0.1:${elsewherePort}/token`,
          tokenEndpointAuthMethods: ['client_secret_basic'],
          tokenEndpointAuthSigningAlgs: [],
          dpopSigningAlgs: [],
          mtlsEndpointAliases: null,
          registrationEndpoint: null,
          discoveredFrom: 'legacy',
        }),
      ],
    );
    const probe = worker
      .get(ProbeRunner)
      .run({ clientRowId: client.id, method: ProbeMethod.ClientSecretBasic, dpop: false, purpose: 'test' });
    await expect(probe).rejects.toBeInstanceOf(ProbeNotPossible);
    await expect(probe).rejects.toThrow(/token_endpoint is on/);
    expect(elsewhereHits).toEqual([]);
  });

  it('accepts the other host once the operator trusts it (PATCH trustedHosts), with a new discovery', async () => {
    const servers = worker.get(AuthorizationServersService);
    const created = await servers.create(anAuthorizationServer({ issuer: `${issuerBase}/t2` }) as never, operator);
    await waitFor(
      () => serverRow(created.id),
      (s) => s.discoveryStatus === 'failed',
    );
    const attempted = (await serverRow(created.id)).discoveryAttemptedAt!;
    const updated = await servers.update(created.id, { trustedHosts: [`127.0.0.1:${elsewherePort}`] }, operator);
    expect(updated.trustedHosts).toEqual([`127.0.0.1:${elsewherePort}`]);
    const ok = await waitFor(
      () => serverRow(created.id),
      (s) => s.discoveryAttemptedAt !== null && s.discoveryAttemptedAt > attempted,
    );
    expect(ok.discoveryError).toBeNull();
    expect(ok).toMatchObject({
      discoveryStatus: 'ok',
      trustedHosts: [`127.0.0.1:${elsewherePort}`],
      capabilities: { tokenEndpoint: `http://127.0.0.1:${elsewherePort}/token` },
    });
    const audit = await worker
      .get(AuditLog)
      .list({ subjectId: created.id, action: 'authorization_server.updated', limit: 5 });
    expect(audit.items[0]).toMatchObject({
      before: { trustedHosts: [] },
      after: { trustedHosts: [`127.0.0.1:${elsewherePort}`] },
    });
  });
});
