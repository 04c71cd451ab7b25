import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@keyshift/config';
import { Phase, PHASE_ORDER, PhaseState } from '@keyshift/domain';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { freePort } from '../support/keyed-client';
import { startPrivateRedis, PrivateRedis } from '../support/private-redis';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';

type Fault = 'kill_worker' | 'restart_redis' | 'kill_both';

/**
 * The invariants of issue 5 under faults, with every part real: the worker is a separate process
 * killed with SIGKILL at random moments (mid-job, mid-transaction), and Redis is killed and
 * restarted empty (every queued job lost) mid-campaign. The schedule of faults comes from
 * fast-check with a fixed seed (printed, so a failure can be replayed). Afterwards, from
 * PostgreSQL alone: each client ends where an uninterrupted run ends it, no phase was skipped,
 * every state change is in the audit log, no secret was revoked before a key token request
 * succeeded after cutover, and the audit chain verifies.
 */
describe('a campaign under faults: worker killed at random points, Redis restarted empty', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let redis: PrivateRedis;
  let api: NestFastifyApplication;
  let env: Record<string, string>;
  let ds: DataSource;
  const worker = new WorkerProcess();
  const startWorker = () => worker.start(env);
  const killWorker = () => worker.kill();

  beforeAll(async () => {
    const port = await freePort();
    [db, as, redis] = await Promise.all([createTestDatabase(), startTestAuthorizationServer(), startPrivateRedis()]);
    env = testEnv(db, {
      REDIS_URL: redis.url,
      KEYSHIFT_PUBLIC_URL: `http://127.0.0.1:${port}`,
      KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
      KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
      KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
      KEYSHIFT_LEASE_SECONDS: '4',
      KEYSHIFT_SOAK_MIN_SUCCESSES: '2',
      KEYSHIFT_SOAK_MIN_SECONDS: '2',
      KEYSHIFT_SOAK_INTERVAL_SECONDS: '1',
      KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '1',
      KEYSHIFT_PHASE_MAX_ATTEMPTS: '20',
      KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS: '3600',
      KEYSHIFT_KEY_ROTATION_TICK_SECONDS: '3600',
    });
    api = await createApiApp(loadConfig(env));
    await api.listen(port, '127.0.0.1');
    ds = api.get(DataSource);
  }, 60_000);
  afterAll(async () => {
    await killWorker();
    await api?.close();
    await Promise.all([as?.stop(), redis?.stop(), db?.drop()]);
  });

  const adminHeaders = (withBody: boolean) => ({
    authorization: `Bearer ${env.KEYSHIFT_ADMIN_TOKEN}`,
    ...(withBody ? { 'content-type': 'application/json' } : {}),
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api.inject({
      method: method as 'GET',
      url: path,
      headers: adminHeaders(body !== undefined),
      payload: body as never,
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  it('finishes with the same result as an uninterrupted run, and every invariant holds', async () => {
    const server = await call('POST', '/v1/authorization-servers', {
      name: 'faulty-run',
      issuer: as.issuer,
      connector: { type: 'rfc7592' },
      probeRatePerSecond: 100,
    });
    await call('POST', `/v1/authorization-servers/${server.id}/discover`);
    await waitFor(
      () => call('GET', `/v1/authorization-servers/${server.id}`),
      (s) => s.discoveryStatus === 'ok',
    );

    // Eleven clients that can migrate (both secret methods, with and without DPoP) and one whose
    // registration access token the server never issued: blocked at key registration, every time.
    const shapes = Array.from({ length: 11 }, (_, i) => ({
      method: i % 2 ? 'client_secret_post' : 'client_secret_basic',
      senderConstraint: i % 3 ? 'dpop' : 'none',
    }));
    const rows = [];
    for (const shape of shapes) {
      const reg = await as.register({ token_endpoint_auth_method: shape.method });
      rows.push({
        authorizationServerId: server.id,
        clientId: reg.client_id,
        authMethod: shape.method,
        clientSecret: reg.client_secret,
        registrationAccessToken: reg.registration_access_token,
        registrationClientUri: reg.registration_client_uri,
        target: {
          authMethod: 'private_key_jwt',
          senderConstraint: shape.senderConstraint,
          strategy: 'in_place',
          cutover: 'automatic',
        },
        tags: ['faults'],
      });
    }
    const doomed = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    rows.push({
      ...rows[0],
      clientId: doomed.client_id,
      clientSecret: doomed.client_secret,
      registrationAccessToken: 'never-issued',
      registrationClientUri: doomed.registration_client_uri,
    });
    await call('POST', '/v1/clients/import', rows);
    const campaign = await call('POST', '/v1/campaigns', {
      name: 'under faults',
      selector: { tags: ['faults'] },
      canarySize: 2,
      waveSize: 4,
      maxFailureRate: 0.25,
      serverBudgetPerSecond: 50,
    });

    const seed = Number(process.env.KEYSHIFT_FAULT_SEED ?? 20261123);
    const schedule = fc.sample(
      fc.array(
        fc.record({
          afterMs: fc.integer({ min: 500, max: 8_000 }),
          fault: fc.constantFrom<Fault>('kill_worker', 'restart_redis', 'kill_both'),
        }),
        {
          minLength: 5,
          maxLength: 5,
        },
      ),
      { seed, numRuns: 1 },
    )[0];
    process.stdout.write(`fault schedule (seed ${seed}): ${JSON.stringify(schedule)}\n`);

    startWorker();
    for (const { afterMs, fault } of schedule) {
      await new Promise((r) => setTimeout(r, afterMs));
      if (fault !== 'restart_redis') await killWorker();
      if (fault !== 'kill_worker') await redis.restart();
      if (fault !== 'restart_redis') startWorker();
    }
    const finished = await waitFor(
      () => call('GET', `/v1/campaigns/${campaign.id}`),
      (c) => c.status !== 'running',
      150_000,
    );
    if (finished.status !== 'completed') process.stdout.write(`worker stderr:\n${worker.errors.slice(-4000)}\n`);

    // The same result as without faults: the campaign completes; the doomed client is the one failure.
    expect(finished).toMatchObject({ status: 'completed', members: 12 });
    const clients = (await ds.query(
      `SELECT id, client_id, phase, state, secret_status, registration_state FROM clients ORDER BY id`,
    )) as {
      id: string;
      client_id: string;
      phase: string;
      state: string;
      secret_status: string;
      registration_state: Record<string, unknown>;
    }[];
    for (const c of clients) {
      if (c.client_id === doomed.client_id) {
        expect(c).toMatchObject({ phase: Phase.KeyRegistration, state: PhaseState.Blocked, secret_status: 'present' });
        continue;
      }
      expect(c).toMatchObject({ phase: Phase.Completed, state: PhaseState.Done, secret_status: 'shredded' });
      expect(c.registration_state).toMatchObject({ authMethod: 'private_key_jwt' });
    }
    expect(finished.progress.failures).toEqual([expect.objectContaining({ clientId: doomed.client_id })]);

    for (const c of clients) {
      const trail = (await ds.query(
        `SELECT seq, action, before, after, occurred_at FROM audit_events WHERE subject_id = $1 ORDER BY seq`,
        [c.id],
      )) as {
        seq: string;
        action: string;
        before: Record<string, unknown> | null;
        after: Record<string, unknown> | null;
        occurred_at: Date;
      }[];
      // Every state change is audited, one after the other: each event starts where the last one ended.
      const changes = trail.filter((e) => e.before && e.after && 'phase' in e.after && 'state' in e.after);
      for (let i = 1; i < changes.length; i++) {
        expect([changes[i].before!.phase, changes[i].before!.state]).toEqual([
          changes[i - 1].after!.phase,
          changes[i - 1].after!.state,
        ]);
      }
      const last = changes[changes.length - 1].after!;
      expect([last.phase, last.state]).toEqual([c.phase, c.state]);
      // No phase skipped: the phases entered are PHASE_ORDER's, in order.
      const entered = [...new Set(changes.map((e) => e.after!.phase as string))];
      expect(PHASE_ORDER.slice(0, entered.length)).toEqual(entered);

      // Never revoked before a key token request succeeded after cutover.
      const probes = (await ds.query(
        `SELECT purpose, method, via, outcome, created_at FROM probes WHERE client_row_id = $1 ORDER BY created_at`,
        [c.id],
      )) as { purpose: string; method: string; via: string; outcome: string; created_at: Date }[];
      const revocation = probes.find((p) => p.purpose === Phase.SecretRevocation);
      const shredded = trail.find((e) => e.action === 'client.secret_shredded');
      if (revocation || shredded) {
        const keyAfterCutover = probes.find(
          (p) => p.purpose === Phase.Cutover && p.via === 'token_request' && p.outcome === 'ok',
        );
        expect(keyAfterCutover).toBeDefined();
        expect(keyAfterCutover!.created_at.getTime()).toBeLessThanOrEqual(revocation!.created_at.getTime());
        expect(shredded!.occurred_at.getTime()).toBeGreaterThanOrEqual(revocation!.created_at.getTime());
      }
    }
    expect(await call('GET', '/v1/audit/verify')).toMatchObject({ ok: true });
  }, 240_000);
});
