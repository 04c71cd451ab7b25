import { ModuleMetadata } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { ClientEntity } from '@keyshift/features/clients/client.entity';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { CampaignsService } from '@keyshift/features/campaigns/campaigns.service';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient } from './factories';
import { discoveredServer } from './discovered-server';
import { freePort } from './keyed-client';
import { startTestAuthorizationServer, TestAuthorizationServer } from './test-as';
import { createTestDatabase, TestDatabase, testConfig } from './test-env';
import { waitFor } from './wait-for';

export const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/**
 * Everything a migration runs on, for real: PostgreSQL, Redis/BullMQ, the API (serving the public
 * JWKS the authorization server fetches), the worker with its schedule, and node-oidc-provider.
 * Timers are short (1 s sweeps, minimal soak) so tests are about behaviour, not waiting.
 */
export interface MigrationRig {
  db: TestDatabase;
  as: TestAuthorizationServer;
  api: NestFastifyApplication;
  worker: TestingModule;
  ds: DataSource;
  serverId: string;
  config: ReturnType<typeof testConfig>;
  /** A client registered at the AS with client_secret_basic and imported into Keyshift. */
  client(overrides?: Record<string, unknown>): Promise<{ id: string; reg: Record<string, string> }>;
  row(id: string): Promise<ClientEntity>;
  /** A campaign over the given tag, canary first. */
  campaign(tag: string, options?: Record<string, unknown>): Promise<string>;
  /** Restarts the worker (as after a crash: nothing of the old one's memory survives). */
  restartWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Modules the worker gets besides WorkerModule (a test's own connector, say). */
  imports?: ModuleMetadata['imports'];
}

export async function startMigrationRig(
  env: Record<string, string> = {},
  options: RigOptions = {},
): Promise<MigrationRig> {
  const port = await freePort();
  const [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer()]);
  const config = testConfig(db, {
    KEYSHIFT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
    KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
    KEYSHIFT_SOAK_MIN_SUCCESSES: '1',
    KEYSHIFT_SOAK_MIN_SECONDS: '0',
    KEYSHIFT_SOAK_INTERVAL_SECONDS: '1',
    KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '1',
    KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS: '3600',
    KEYSHIFT_KEY_ROTATION_TICK_SECONDS: '3600',
    ...env,
  });
  const api = await createApiApp(config);
  await api.listen(port, '127.0.0.1');
  const startWorker = async () => {
    const w = await Test.createTestingModule({
      imports: [WorkerModule.register(config), ...(options.imports ?? [])],
    }).compile();
    await w.init();
    return w;
  };
  let worker = await startWorker();
  const ds = worker.get(DataSource);
  const serverId = await discoveredServer(worker, as.issuer, { probeRatePerSecond: 200, probeConcurrency: 16 });

  const rig: MigrationRig = {
    db,
    as,
    api,
    get worker() {
      return worker;
    },
    get ds() {
      return worker.get(DataSource);
    },
    serverId,
    config,
    async client(overrides = {}) {
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
      return { id: view.id, reg };
    },
    row: (id) => worker.get(DataSource).getRepository(ClientEntity).findOneByOrFail({ id }),
    async campaign(tag, options = {}) {
      const view = await worker.get(CampaignsService).create(
        {
          name: `campaign ${tag}`,
          selector: { tags: [tag] },
          canarySize: 1,
          waveSize: 5,
          maxFailureRate: 0.5,
          serverBudgetPerSecond: 100,
          ...options,
        } as never,
        operator,
      );
      return view.id;
    },
    async restartWorker() {
      await worker.close();
      worker = await startWorker();
    },
    async close() {
      await worker.close();
      await api.close();
      await Promise.all([as.stop(), db.drop()]);
    },
  };
  void ds;
  return rig;
}

/** Waits for a client to reach a phase and state (or fails with where it got stuck). */
export function clientReaches(rig: MigrationRig, id: string, phase: string, state: string, timeoutMs = 60_000) {
  return waitFor(
    () => rig.row(id),
    (c) => c.phase === phase && c.state === state,
    timeoutMs,
  );
}
