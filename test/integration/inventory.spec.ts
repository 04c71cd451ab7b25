import { randomUUID } from 'node:crypto';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { InventoryTickHandler } from '@keyshift/features/inventory/inventory-tick.handler';
import { InventoryService } from '@keyshift/features/inventory/inventory.service';
import { EstateReports } from '@keyshift/features/reports/estate-reports.service';
import { discoveredServer } from '../support/discovered-server';
import { MigrationRig, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { HydraTwin, startHydraTwin } from '../support/twins/hydra-twin';
import { KeycloakTwin, startKeycloakTwin } from '../support/twins/keycloak-twin';
import { waitFor } from '../support/wait-for';

const ops = { tokenId: 't', name: 'ops', role: Role.Operator };
const DAY = 86_400_000;

/**
 * Estate discovery: every client at a server listed through its admin API by a worker job, a
 * summary an estate review starts from (methods, secrets by age) before any migration, and an
 * import that reads each secret from the server where the vendor allows it (Keycloak) and refuses
 * where it does not (Hydra).
 */
describe('estate discovery through admin API twins', () => {
  let rig: MigrationRig;
  let kcProvider: TestAuthorizationServer;
  let hydraProvider: TestAuthorizationServer;
  let keycloak: KeycloakTwin;
  let hydra: HydraTwin;
  let keycloakId: string;
  let hydraId: string;
  const estate = new Map<string, string>(); // client_id → secret, at the Keycloak twin

  const inventory = () => rig.api.get(InventoryService);
  const finished = (serverId: string, runId: string) =>
    waitFor(
      () => inventory().get(serverId, runId, undefined, 1),
      (r) => r.run.status === 'done' || r.run.status === 'failed',
      120_000,
    );

  beforeAll(async () => {
    [kcProvider, hydraProvider] = await Promise.all([
      startTestAuthorizationServer(['--accept-client-ids']),
      startTestAuthorizationServer(),
    ]);
    [keycloak, hydra] = await Promise.all([startKeycloakTwin(kcProvider), startHydraTwin(hydraProvider)]);
    rig = await startMigrationRig();
    keycloakId = await discoveredServer(rig.worker, kcProvider.issuer, {
      name: 'keycloak',
      connector: {
        type: 'keycloak',
        adminUrl: keycloak.adminUrl,
        credential: { kind: 'client_credentials', ...keycloak.serviceAccount },
      },
      trustedHosts: [new URL(keycloak.url).host],
    });
    hydraId = await discoveredServer(rig.worker, hydraProvider.issuer, {
      name: 'hydra',
      connector: { type: 'hydra', adminUrl: hydra.adminUrl, credential: { kind: 'bearer', token: hydra.adminToken } },
      assertionAudience: 'token_endpoint',
      trustedHosts: [new URL(hydra.url).host],
    });
    // 1,000 realm clients: a third with secrets from 400 days ago, a third from 120, a third new.
    const ages = [400, 120, 0];
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, 1000 - i) }, async (_, j) => {
          const n = i + j;
          const method = n % 2 ? 'client_secret_post' : 'client_secret_basic';
          const reg = await kcProvider.register({ token_endpoint_auth_method: method, client_name: `svc-${n}` });
          keycloak.adopt(reg, `svc-${n}`, new Date(Date.now() - ages[n % 3] * DAY));
          estate.set(reg.client_id, reg.client_secret);
        }),
      );
    }
    for (let n = 0; n < 300; n++)
      hydra.adopt(await hydraProvider.register({ token_endpoint_auth_method: 'client_secret_basic' }));
  }, 180_000);
  afterAll(async () => {
    await rig.close();
    await Promise.all([keycloak.close(), hydra.close()]);
    await Promise.all([kcProvider.stop(), hydraProvider.stop()]);
  });

  it('finds a 1,000-client Keycloak realm through 503s, summarises it, and imports it with secrets read from the server', async () => {
    keycloak.failNext(503, 2); // the listing resumes where it stood
    const run = await inventory().start(keycloakId, ops);
    expect(run.status).toBe('queued');
    const done = await finished(keycloakId, run.id);
    expect(done.run).toMatchObject({ status: 'done', clientsFound: 1000, pages: 11 });
    expect(done.summary).toEqual({
      clients: 1000,
      managed: 0,
      vendorBuiltIn: 0,
      byAuthMethod: { client_secret_basic: 1000 },
      onSecret: { total: 1000, byAge: { under90Days: 333, days90To365: 333, over365Days: 334, unknown: 0 } },
      secretsExpiring: { expired: 0, within30Days: 0 },
    });

    // Every client, once, through the cursor; none of them carries a secret.
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await inventory().get(keycloakId, run.id, cursor, 500);
      listed.push(...page.clients.map((c) => c.clientId));
      expect(JSON.stringify(page)).not.toContain(estate.values().next().value!);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(new Set(listed)).toEqual(new Set(estate.keys()));

    const imported = await inventory().import(
      keycloakId,
      run.id,
      {
        clientIds: [...estate.keys()],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' } as never,
        tags: ['kc-estate'],
      },
      ops,
    );
    expect(imported).toMatchObject({ imported: 1000, skipped: [] });
    const reads = (await rig.ds.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'client.secret_read_from_server' AND subject_id = $1`,
      [keycloakId],
    )) as { n: number }[];
    expect(reads[0].n).toBe(1000);
    const [sample] = [...estate.entries()];
    const leaks = (await rig.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE strpos(after::text, $1) > 0`, [
      sample[1],
    ])) as { n: number }[];
    expect(leaks[0].n).toBe(0);

    // The estate report answers "who is still on a secret, and how old" before any migration.
    const report = await rig.api.get(EstateReports).summary({ authorizationServerId: keycloakId } as never);
    expect(report.totals).toMatchObject({ clients: 1000 });
    // Dated by Keycloak's own record of each secret's creation, carried into the import.
    expect(report.secretAges.map((b) => b.count)).toEqual([333, 0, 333, 0, 334]);
    expect((await inventory().get(keycloakId, run.id, undefined, 1)).summary.managed).toBe(1000);

    // A second import of the same ones brings nothing twice.
    const again = await inventory().import(
      keycloakId,
      run.id,
      {
        clientIds: [sample[0]],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' } as never,
      },
      ops,
    );
    expect(again).toMatchObject({
      imported: 0,
      skipped: [{ clientId: sample[0], reason: 'already managed by Keyshift' }],
    });
  }, 300_000);

  it('a run whose job was lost is queued again by the tick and resumes at its stored cursor; one out of attempts fails', async () => {
    const insert = (id: string, pages: number, nextPage: string | null, attempts: number) =>
      rig.ds.query(
        `INSERT INTO inventory_runs (id, server_id, status, next_page, pages, clients_found, admin_calls, server_ms,
                                     attempts, generation, progress_at, error, requested_by, created_at, finished_at)
         VALUES ($1, $2, 'running', $3, $4, 0, 0, 0, $5, 0, now() - interval '1 hour', NULL, 'ops', now(), NULL)`,
        [id, keycloakId, nextPage, pages, attempts],
      );
    const lost = randomUUID();
    const spent = randomUUID();
    // Five pages were stored before its worker and its job vanished (no rows kept here: the tick must not restart it).
    await insert(lost, 5, '500', 1);
    await insert(spent, 0, null, 6);
    await rig.worker.get(InventoryTickHandler).handle({ tick: 1 });
    const resumed = await finished(keycloakId, lost);
    expect(resumed.run).toMatchObject({ status: 'done', pages: 11, clientsFound: 500 });
    const failed = await inventory().get(keycloakId, spent, undefined, 1);
    expect(failed.run).toMatchObject({
      status: 'failed',
      error: 'its worker was lost 6 times; request a new inventory',
    });
    // A second tick finds nothing silent: the resumed run is closed, the spent one failed.
    await rig.worker.get(InventoryTickHandler).handle({ tick: 2 });
    expect((await inventory().get(keycloakId, lost, undefined, 1)).run.status).toBe('done');
  }, 120_000);

  it('lists Hydra (pages by Link header) and refuses to import without secrets, saying how to', async () => {
    const run = await inventory().start(hydraId, ops);
    const done = await finished(hydraId, run.id);
    expect(done.run).toMatchObject({ status: 'done', clientsFound: 300, pages: 2 });
    // Hydra dates no secret: their clients' creation is the age the summary can give.
    expect(done.summary.onSecret).toMatchObject({ total: 300, byAge: { under90Days: 300 } });
    const page = await inventory().get(hydraId, run.id, undefined, 1);
    await expect(
      inventory().import(
        hydraId,
        run.id,
        {
          clientIds: [page.clients[0].clientId],
          target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' } as never,
        },
        ops,
      ),
    ).rejects.toThrow(/cannot read secrets from the server: import these clients with their secrets/);
    await expect(
      inventory().import(hydraId, run.id, { clientIds: ['not-listed'], target: {} as never }, ops),
    ).rejects.toMatchObject({
      details: { fields: [{ field: 'clientIds[0]', message: 'is not in this inventory run' }] },
    });
  }, 120_000);

  it('refuses a run at a server whose connector cannot list, and a refused admin credential fails the run with the reason', async () => {
    await expect(inventory().start(rig.serverId, ops)).rejects.toThrow(/the rfc7592 connector cannot list/);
    const provider = await startTestAuthorizationServer(['--accept-client-ids']);
    const twin = await startKeycloakTwin(provider);
    try {
      const serverId = await discoveredServer(rig.worker, provider.issuer, {
        name: 'keycloak-wrong-secret',
        connector: {
          type: 'keycloak',
          adminUrl: twin.adminUrl,
          credential: { kind: 'client_credentials', clientId: twin.serviceAccount.clientId, clientSecret: 'wrong' },
        },
        trustedHosts: [new URL(twin.url).host],
      });
      const run = await inventory().start(serverId, ops);
      const failed = await finished(serverId, run.id);
      expect(failed.run).toMatchObject({
        status: 'failed',
        error: 'admin token request: the service account was refused (invalid_client); check connector.credential',
      });
      expect(JSON.stringify(failed)).not.toContain('wrong');
    } finally {
      await twin.close();
      await provider.stop();
    }
  }, 60_000);
});
