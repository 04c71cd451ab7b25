import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ProbeEntity, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeSweepHandler } from '@keyshift/features/probes/probe-sweep.handler';
import { ProbesService } from '@keyshift/features/probes/probes.service';
import { ServerBackoff } from '@keyshift/features/probes/server-backoff';
import { PeriodicJobs } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient, anAuthorizationServer } from '../support/factories';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

type Mode = 'ok' | '429' | '500' | 'slow' | 'not-json' | 'down';

/** A token endpoint that misbehaves on demand, and records when each request arrived and how many overlapped. */
class FlakyTokenEndpoint {
  mode: Mode = 'ok';
  /** Client ids answered with 500 whatever the mode. */
  failingClients = new Set<string>();
  arrivals: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      req.resume();
      this.arrivals.push(Date.now());
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const done = (status: number, body: string, headers: Record<string, string> = {}) =>
        setTimeout(() => {
          this.inFlight--;
          if (this.mode === 'down') return void req.socket.destroy();
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
        }, 40);
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (this.failingClients.has(decodeURIComponent(basic.split(':')[0]))) return done(500, 'oops');
      switch (this.mode) {
        case 'ok':
        case 'down':
          return done(200, JSON.stringify({ access_token: 'tok', token_type: 'Bearer', expires_in: 60 }));
        case '429':
          return done(429, '{}', { 'retry-after': '1' });
        case '500':
          return done(500, 'oops');
        case 'not-json':
          return done(200, '<html>');
        case 'slow':
          return void setTimeout(() => done(200, '{}'), 1500);
      }
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe('probe faults, retries and per-server limits', () => {
  let db: TestDatabase;
  let worker: TestingModule;
  let ds: DataSource;
  const endpoint = new FlakyTokenEndpoint();

  beforeAll(async () => {
    [db] = await Promise.all([createTestDatabase(), endpoint.start()]);
    worker = await Test.createTestingModule({
      imports: [
        WorkerModule.register(
          testConfig(db, {
            KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
            KEYSHIFT_OUTBOUND_TIMEOUT_MS: '500',
            KEYSHIFT_PROBE_MAX_BACKOFF_SECONDS: '2',
          }),
        ),
      ],
    }).compile();
    await worker.init();
    ds = worker.get(DataSource);
  });
  afterAll(async () => {
    worker.get(PeriodicJobs).onApplicationShutdown();
    await worker.close();
    await Promise.all([endpoint.stop(), db.drop()]);
  });

  /** A server whose discovery is already recorded, pointing at the flaky endpoint. */
  async function flakyServer(limits: { probeRatePerSecond?: number; probeConcurrency?: number } = {}): Promise<string> {
    const { id } = await worker
      .get(AuthorizationServersService)
      // The endpoint is on another loopback port than the (unreachable) issuer, so it is named as a trusted host.
      .create(
        anAuthorizationServer({ ...limits, issuer: `http://127.0.0.1:1/${randomUUID()}`, trustedHosts: [new URL(endpoint.url).host] }) as never,
        operator,
      );
    await ds.getRepository(AuthorizationServerEntity).update(id, {
      capabilities: {
        tokenEndpoint: endpoint.url,
        tokenEndpointAuthMethods: ['client_secret_basic'],
        tokenEndpointAuthSigningAlgs: [],
        dpopSigningAlgs: [],
        mtlsEndpointAliases: null,
        registrationEndpoint: null,
        discoveredFrom: 'test',
      },
      capabilitiesCheckedAt: new Date(),
      discoveryStatus: 'ok',
    });
    return id;
  }
  const probesOf = (clientRowId: string) =>
    ds.getRepository(ProbeEntity).find({ where: { clientRowId }, order: { id: 'ASC' } });

  it.each([
    ['429 with Retry-After', '429', ProbeOutcome.RateLimited, { httpStatus: 429, retryAfterSeconds: 1 }],
    ['500', '500', ProbeOutcome.ServerError, { httpStatus: 500 }],
    ['slow past the timeout', 'slow', ProbeOutcome.Timeout, { httpStatus: null }],
    ['down (connection dropped)', 'down', ProbeOutcome.Network, { httpStatus: null }],
  ] as const)(
    '%s: records the outcome, retries, and recovers by itself when the server is healthy',
    async (_, mode, outcome, fields) => {
      const serverId = await flakyServer();
      const client = await worker.get(ClientsService).create(aClient(serverId) as never, operator);
      endpoint.mode = mode;
      await worker.get(ProbesService).request(client.id, {}, operator);
      const failed = await waitFor(
        () => probesOf(client.id),
        (ps) => ps.length >= 1,
      );
      expect(failed[0]).toMatchObject({ outcome, ...fields });
      // 429 pauses the queue for the server's Retry-After; everything else climbs the shared backoff.
      const backoff = await waitFor(
        () => worker.get(ServerBackoff).failures(serverId),
        (n) => mode === '429' || n >= 1,
        5_000,
      );
      if (mode === '429') expect(backoff).toBe(0);
      else expect(backoff).toBeGreaterThanOrEqual(1);

      endpoint.mode = 'ok';
      const recovered = await waitFor(
        () => probesOf(client.id),
        (ps) => ps.some((p) => p.outcome === ProbeOutcome.Ok),
        15_000,
      );
      const ok = recovered.find((p) => p.outcome === ProbeOutcome.Ok)!;
      expect(ok.attempt).toBeGreaterThan(1);
      expect(recovered.filter((p) => p.outcome !== ProbeOutcome.Ok).every((p) => p.outcome === outcome)).toBe(true);
      expect(await worker.get(ServerBackoff).failures(serverId)).toBe(0); // reset by the first answer
    },
  );

  it('does not retry an unusable answer, and never a refusal', async () => {
    const serverId = await flakyServer();
    const client = await worker.get(ClientsService).create(aClient(serverId) as never, operator);
    endpoint.mode = 'not-json';
    await worker.get(ProbesService).request(client.id, {}, operator);
    await waitFor(
      () => probesOf(client.id),
      (ps) => ps.length >= 1,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const probes = await probesOf(client.id);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ outcome: ProbeOutcome.InvalidResponse, detail: 'HTTP 200 without a JSON body' });
    endpoint.mode = 'ok';
  });

  it('keeps to each server’s rate limit and concurrency', async () => {
    const serverId = await flakyServer({ probeRatePerSecond: 5, probeConcurrency: 2 });
    const clients = await Promise.all(
      Array.from({ length: 15 }, () => worker.get(ClientsService).create(aClient(serverId) as never, operator)),
    );
    endpoint.mode = 'ok';
    endpoint.arrivals = [];
    endpoint.maxInFlight = 0;
    const started = Date.now();
    const sweep = await worker.get(ProbesService).sweep({ authorizationServerId: serverId }, operator);
    expect(sweep.queued).toBe(15);
    await waitFor(
      () => worker.get(ProbesService).sweepStatus(sweep.sweepId),
      (s) => s.probes === 15,
      15_000,
    );
    const arrivals = endpoint.arrivals.filter((t) => t >= started);
    expect(arrivals).toHaveLength(clients.length);
    // 5/s is one request per 200 ms window: 15 requests span at least 14 windows, and no sliding
    // second holds more than 5 + 1 (see smoothLimiter).
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(14 * 200 - 100);
    for (const t of arrivals) expect(arrivals.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(6);
    expect(endpoint.maxInFlight).toBeLessThanOrEqual(2);
  });

  it('packs a sweep into batched jobs and still keeps to the server’s rate and concurrency', async () => {
    // 40/s with 8 at once: jobs of 4 probes, 2 jobs at once, 10 jobs a second.
    const serverId = await flakyServer({ probeRatePerSecond: 40, probeConcurrency: 8 });
    const clients = await Promise.all(
      Array.from({ length: 60 }, () => worker.get(ClientsService).create(aClient(serverId) as never, operator)),
    );
    endpoint.mode = 'ok';
    endpoint.arrivals = [];
    endpoint.maxInFlight = 0;
    const started = Date.now();
    const sweep = await worker.get(ProbesService).sweep({ authorizationServerId: serverId }, operator);
    await waitFor(
      () => worker.get(ProbesService).sweepStatus(sweep.sweepId),
      (s) => s.probes === 60,
      15_000,
    );
    const arrivals = endpoint.arrivals.filter((t) => t >= started);
    expect(arrivals).toHaveLength(clients.length);
    // One job of 4 per 100 ms window: 60 probes span at least 14 windows, and a sliding second
    // holds at most 11 windows' worth (40 + 4).
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(14 * 100 - 50);
    for (const t of arrivals) expect(arrivals.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(44);
    expect(endpoint.maxInFlight).toBeLessThanOrEqual(8);
  });

  it('retries only the probes of a batch that ended transient', async () => {
    const serverId = await flakyServer({ probeRatePerSecond: 40, probeConcurrency: 8 });
    const clients = await Promise.all(
      Array.from({ length: 4 }, () => worker.get(ClientsService).create(aClient(serverId) as never, operator)),
    );
    endpoint.mode = 'ok';
    endpoint.failingClients = new Set([clients[1].clientId]);
    await worker.get(ProbesService).sweep({ authorizationServerId: serverId }, operator);
    await waitFor(
      () => probesOf(clients[1].id),
      (ps) => ps.length >= 1,
    );
    endpoint.failingClients = new Set();
    const recovered = await waitFor(
      () => probesOf(clients[1].id),
      (ps) => ps.some((p) => p.outcome === ProbeOutcome.Ok),
      15_000,
    );
    expect(recovered[0]).toMatchObject({ outcome: ProbeOutcome.ServerError, attempt: 1 });
    expect(recovered[recovered.length - 1]).toMatchObject({ outcome: ProbeOutcome.Ok });
    expect(recovered[recovered.length - 1].attempt).toBeGreaterThan(1);
    for (const other of [clients[0], clients[2], clients[3]]) {
      const probes = await probesOf(other.id);
      expect(probes.map((p) => [p.outcome, p.attempt])).toEqual([[ProbeOutcome.Ok, 1]]); // answered once, not re-run
    }
  });

  it('the scheduled sweep re-probes what a phase’s gate reads once it is stale, and nothing fresh', async () => {
    endpoint.mode = 'ok';
    const serverId = await flakyServer();
    const soaking = await worker.get(ClientsService).create(aClient(serverId) as never, operator);
    const notYet = await worker.get(ClientsService).create(aClient(serverId) as never, operator);
    await ds.query(`UPDATE clients SET phase = 'parallel_auth' WHERE id = $1`, [soaking.id]);
    await ds.query(`UPDATE clients SET paused = true WHERE phase <> 'vendor_check' AND id <> $1`, [soaking.id]); // earlier tests' clients

    const sweeper = worker.get(ProbeSweepHandler);
    // parallel_auth reads the secret and the key; without a key in Keyshift only the secret is probed.
    expect(await sweeper.sweep()).toBe(1);
    const probes = await waitFor(
      () => probesOf(soaking.id),
      (ps) => ps.length === 1,
    );
    expect(probes[0]).toMatchObject({
      purpose: 'phase:parallel_auth',
      method: 'client_secret_basic',
      outcome: ProbeOutcome.Ok,
    });
    expect(await probesOf(notYet.id)).toHaveLength(0); // vendor_check reads discovery, not tokens
    expect(await sweeper.sweep()).toBe(0); // fresh evidence is left alone
  });
});
