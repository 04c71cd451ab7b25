import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ClientKeyEntity, KeyState } from '@keyshift/features/keys/client-key.entity';
import {
  KeyRotationEntity,
  RotationStatus,
  RotationStep,
  RotationTrigger,
} from '@keyshift/features/keys/key-rotation.entity';
import { KeyRotationSteps } from '@keyshift/features/keys/key-rotation-steps';
import { KeyRotationTickHandler } from '@keyshift/features/keys/key-rotation-tick.handler';
import { KeyRotations } from '@keyshift/features/keys/key-rotations.service';
import { ProbeEntity } from '@keyshift/features/probes/probe.entity';
import { JobQueue, PeriodicJobs, QueueName } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient } from '../support/factories';
import { discoveredServer } from '../support/discovered-server';
import { freePort, giveActiveKey, switchToJwksUri } from '../support/keyed-client';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/**
 * Rotation against the real oidc-provider, which fetches each client's jwks_uri from Keyshift's
 * public JWKS route. A rotation here is one workload's key moving from one managed key to the next.
 */
describe('key rotation against the real oidc-provider', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let api: NestFastifyApplication;
  let ds: DataSource;
  let publicUrl: string;
  let config: ReturnType<typeof testConfig>;
  /** A module with the worker's providers but no running workers or schedule: steps are driven by hand. */
  let driver: TestingModule;

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer()]);
    config = testConfig(db, {
      KEYSHIFT_PUBLIC_URL: publicUrl,
      KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
      KEYSHIFT_KEY_OVERLAP_MARGIN_SECONDS: '1',
      KEYSHIFT_KEY_ROTATION_TICK_SECONDS: '1',
      KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
    });
    api = await createApiApp(config);
    await api.listen(port, '127.0.0.1');
    driver = await Test.createTestingModule({ imports: [WorkerModule.register(config)] }).compile();
    ds = driver.get(DataSource);
  });
  afterAll(async () => {
    await driver.close();
    await api.close();
    await Promise.all([as.stop(), db.drop()]);
  });

  /**
   * A Keyshift server row for the test AS with the given profile: `jwksCacheSeconds: 0` and a 1 s
   * assertion make a 2 s overlap for tests about steps rather than timing (oidc-provider itself caches a
   * JWKS for 60 s, so each such test uses a client the AS has not fetched a JWKS for yet).
   */
  let quickServerId: string | undefined;
  async function serverRow(profile: { jwksCacheSeconds: number; maxAssertionSeconds: number }): Promise<string> {
    if (quickServerId) return quickServerId;
    const id = await discoveredServer(driver, as.issuer, profile);
    return (quickServerId = id);
  }

  /** A client registered at the AS, imported, given an active key, and switched to private_key_jwt via jwks_uri. */
  async function keyedClient(serverId: string) {
    const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const view = await driver
      .get(ClientsService)
      .create(aClient(serverId, { clientId: reg.client_id, clientSecret: reg.client_secret }) as never, operator);
    const key = await giveActiveKey(driver, view.id, publicUrl);
    await switchToJwksUri(reg, key.jwksUri);
    return { id: view.id, reg, ...key };
  }

  const kidsServed = async (jwksUri: string): Promise<string[]> =>
    ((await (await fetch(jwksUri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const activeKid = async (clientRowId: string): Promise<string | undefined> =>
    (await ds.getRepository(ClientKeyEntity).findOneBy({ clientRowId, state: KeyState.Active }))?.kid;
  const rotationOf = (id: string) => ds.getRepository(KeyRotationEntity).findOneByOrFail({ id });

  /** Runs the rotation's current step once it is due. */
  async function step(rotationId: string): Promise<KeyRotationEntity> {
    const r = await rotationOf(rotationId);
    const wait = (r.nextStepAt?.getTime() ?? Date.now()) - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait + 20));
    return (await driver.get(KeyRotationSteps).run(rotationId))!;
  }

  it.each([0, 1, 2, 3, 4])(
    'a worker killed after %i step(s) (its queued jobs lost too) resumes from the tick and finishes; the JWKS always holds the active key',
    async (stepsBeforeKill) => {
      const serverId = await serverRow({ jwksCacheSeconds: 0, maxAssertionSeconds: 1 });
      const client = await keyedClient(serverId);

      // Watch the public JWKS throughout: every answer must contain the key active when it was asked for or answered.
      let watching = true;
      const violations: string[] = [];
      const watcher = (async () => {
        while (watching) {
          const before = await activeKid(client.id);
          const served = await kidsServed(client.jwksUri);
          const after = await activeKid(client.id);
          if (!served.includes(before!) && !served.includes(after!))
            violations.push(`${before}/${after} not in ${served}`);
        }
      })();

      const rotation = await driver.get(KeyRotations).start(client.id, { trigger: RotationTrigger.Manual }, 'test');
      for (let i = 0; i < stepsBeforeKill; i++) await step(rotation.id);
      // The kill: whatever was queued for this rotation is gone with the worker and Redis's copy.
      await driver.get(JobQueue).queue(QueueName.Reconcile).obliterate({ force: true });

      const worker = await Test.createTestingModule({ imports: [WorkerModule.register(config)] }).compile();
      await worker.init();
      try {
        const done = await waitFor(
          () => rotationOf(rotation.id),
          (r) => r.status === RotationStatus.Done,
          30_000,
        );
        expect(done).toMatchObject({ step: RotationStep.Done, lastError: null });
      } finally {
        worker.get(PeriodicJobs).onApplicationShutdown();
        await worker.close();
        watching = false;
        await watcher;
      }
      expect(violations).toEqual([]);

      const keys = await ds
        .getRepository(ClientKeyEntity)
        .find({ where: { clientRowId: client.id }, order: { createdAt: 'ASC' } });
      expect(keys.map((k) => [k.kid === client.kid, k.state])).toEqual([
        [true, KeyState.Retired],
        [false, KeyState.Active],
      ]);
      expect(await kidsServed(client.jwksUri)).toEqual([keys[1].kid]);
      // The retired key's sealed private key is gone with it.
      const [sealed] = await ds.query('SELECT private_key_ciphertext FROM client_keys WHERE id = $1', [keys[0].id]);
      expect(sealed.private_key_ciphertext).toBeNull();
      // The new key was proven at the server before it became active.
      const test = await ds
        .getRepository(ProbeEntity)
        .findOneByOrFail({ purpose: `key_rotation:${rotation.id}`, outcome: 'ok' as never });
      expect(test).toMatchObject({ method: 'private_key_jwt', kid: keys[1].kid });
      expect(test.createdAt.getTime()).toBeLessThan(keys[1].activatedAt!.getTime());
      const actions = (await driver.get(AuditLog).list({ subjectId: client.id, limit: 50 })).items.map((e) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining([
          'key_rotation.started',
          'client_key.created',
          'key_rotation.published',
          'key_rotation.tested',
          'client_key.activated',
          'client_key.retiring',
          'client_key.retired',
        ]),
      );
    },
    60_000,
  );

  it('starts a scheduled rotation once the key is older than the period, and only inside the window', async () => {
    const serverId = await serverRow({ jwksCacheSeconds: 0, maxAssertionSeconds: 1 });
    const client = await keyedClient(serverId);
    const tick = driver.get(KeyRotationTickHandler);
    const policy = (window: string | null) =>
      ds.query('UPDATE clients SET rotation_policy = $2 WHERE id = $1', [
        client.id,
        JSON.stringify({ periodDays: 30, window, overlapSeconds: null }),
      ]);
    await policy(null);
    expect(await tick.startScheduled()).toBe(0); // a fresh key
    await ds.query(`UPDATE client_keys SET activated_at = now() - interval '31 days' WHERE id = $1`, [client.keyId]);
    await policy(`* * * * ${(new Date().getUTCDay() + 1) % 7}`); // tomorrow only
    expect(await tick.startScheduled()).toBe(0);
    await policy(null);
    expect(await tick.startScheduled()).toBe(1);
    const started = await ds.getRepository(KeyRotationEntity).findOneByOrFail({ clientRowId: client.id });
    expect(started).toMatchObject({ trigger: RotationTrigger.Schedule, alg: 'ES256', step: RotationStep.Create });
    expect(await tick.startScheduled()).toBe(0); // one open rotation per client
  });

  it('a promotion that cannot apply rolls back whole and leaves the rotation failed with the reason', async () => {
    const serverId = await serverRow({ jwksCacheSeconds: 0, maxAssertionSeconds: 1 });
    const client = await keyedClient(serverId);
    const rotation = await driver.get(KeyRotations).start(client.id, { trigger: RotationTrigger.Manual }, 'test');
    await step(rotation.id); // create
    await step(rotation.id); // publish
    const tested = await step(rotation.id); // test
    expect(tested).toMatchObject({ step: RotationStep.Promote, lastError: null });
    // Someone else moved the new key on meanwhile: promote must not half-apply.
    await ds.query(`UPDATE client_keys SET state = 'retiring' WHERE id = $1`, [tested.newKeyId]);
    const failed = await step(rotation.id);
    expect(failed).toMatchObject({
      step: RotationStep.Promote,
      status: RotationStatus.Failed,
      lastError: 'the new key is no longer pending',
    });
    expect(await activeKid(client.id)).toBe(client.kid); // the old key's demotion was rolled back with it
  });

  it('a step that fails stays visible as failed with the reason, and is retried with backoff', async () => {
    const serverId = await serverRow({ jwksCacheSeconds: 0, maxAssertionSeconds: 1 });
    // Registered at the server with client_secret_basic only: a private_key_jwt probe is refused.
    const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const view = await driver
      .get(ClientsService)
      .create(aClient(serverId, { clientId: reg.client_id, clientSecret: reg.client_secret }) as never, operator);
    const client = { id: view.id, ...(await giveActiveKey(driver, view.id, publicUrl)) };
    const rotation = await driver.get(KeyRotations).start(client.id, { trigger: RotationTrigger.Manual }, 'test');
    await step(rotation.id); // create
    await step(rotation.id); // publish
    const failed = await step(rotation.id); // test
    expect(failed).toMatchObject({ step: RotationStep.Test, status: RotationStatus.Failed, attempts: 1 });
    expect(failed.lastError).toMatch(
      /private_key_jwt probe signed with the new key .* ended rejected \(invalid_client/,
    );
    expect(failed.nextStepAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await activeKid(client.id)).toBe(client.kid); // nothing was promoted
    const again = await step(rotation.id);
    expect(again).toMatchObject({ status: RotationStatus.Failed, attempts: 2 });
    expect(again.nextStepAt!.getTime() - again.updatedAt.getTime()).toBeGreaterThan(
      failed.nextStepAt!.getTime() - failed.updatedAt.getTime(),
    );
  });
});
