import { Test, TestingModule } from '@nestjs/testing';
import { Phase, PhaseEvent, PhaseState } from '@keyshift/domain';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ClientEntity } from '@keyshift/features/clients/client.entity';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { PHASE_EXECUTORS, PhaseExecutor } from '@keyshift/features/clients/phase-executor.port';
import { ReconcileClientHandler } from '@keyshift/features/reconcile/reconcile-client.handler';
import { ReconcileSweepHandler } from '@keyshift/features/reconcile/reconcile-sweep.handler';
import { PeriodicJobs } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { AuthorizationServersModule } from '@keyshift/features/authorization-servers/authorization-servers.module';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient, anAuthorizationServer } from '../support/factories';
import { waitFor } from '../support/wait-for';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';

const operator = { tokenId: 't', name: 'test-operator', role: Role.Operator };

/** Stands in for the vendor-check executor a later feature provides: reports support without a network. */
class SupportedVendorCheck implements PhaseExecutor {
  readonly phase = Phase.VendorCheck;
  runs = 0;
  async run(): Promise<PhaseEvent> {
    this.runs++;
    return { type: 'evidence', evidence: { kind: 'vendor_support', supported: true } };
  }
}

describe('reconcile worker (PostgreSQL + Redis/BullMQ)', () => {
  let db: TestDatabase;
  let worker: TestingModule;
  let dataSource: DataSource;
  let clients: ClientsService;
  let serverId: string;
  const vendorCheck = new SupportedVendorCheck();

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = testConfig(db, { KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1', KEYSHIFT_RECONCILE_BATCH_SIZE: '100' });
    worker = await Test.createTestingModule({ imports: [WorkerModule.register(config), AuthorizationServersModule] })
      .overrideProvider(PHASE_EXECUTORS)
      .useValue([vendorCheck])
      .compile();
    dataSource = worker.get(DataSource);
    clients = worker.get(ClientsService);
    serverId = (await worker.get(AuthorizationServersService).create(anAuthorizationServer() as never, operator)).id;
  });
  afterAll(async () => {
    await worker.close();
    await db.drop();
  });

  const clientRow = (id: string) => dataSource.getRepository(ClientEntity).findOneByOrFail({ id });

  it('leases each due client once, however many sweeps run at the same time', async () => {
    const created = await Promise.all(
      Array.from({ length: 30 }, () => clients.create(aClient(serverId) as never, operator)),
    );
    const sweeper = worker.get(ReconcileSweepHandler);
    const results = await Promise.all([sweeper.sweep(), sweeper.sweep(), sweeper.sweep()]);
    expect(results.reduce((n, r) => n + r.leased, 0)).toBe(30);
    const rows = await dataSource.query('SELECT state, lease_id FROM clients WHERE id = ANY($1)', [
      created.map((c) => c.id),
    ]);
    expect(rows.every((r: { state: string; lease_id: string }) => r.state === 'running' && r.lease_id)).toBe(true);
  });

  it('returns clients whose worker died to pending (the watchdog), with an audit event', async () => {
    const { id } = await clients.create(aClient(serverId) as never, operator);
    await worker.get(ReconcileSweepHandler).sweep();
    await dataSource.query(`UPDATE clients SET lease_until = now() - interval '1 minute' WHERE id = $1`, [id]);
    const { released } = await worker.get(ReconcileSweepHandler).sweep();
    expect(released).toBe(1);
    expect(await clientRow(id)).toMatchObject({
      state: PhaseState.Pending,
      leaseId: null,
      stateReason: expect.stringContaining('lease expired'),
    });
    const events = await worker.get(AuditLog).list({ subjectId: id, limit: 20 });
    expect(events.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['client.created', 'client.start', 'client.lease_expired']),
    );
  });

  it('ignores a stale job whose lease has moved on', async () => {
    const { id } = await clients.create(aClient(serverId) as never, operator);
    await worker.get(ReconcileSweepHandler).sweep();
    const before = await clientRow(id);
    await worker
      .get(ReconcileClientHandler)
      .handle({ clientRowId: id, leaseId: '00000000-0000-7000-8000-000000000000' });
    expect(await clientRow(id)).toMatchObject({ state: PhaseState.Running, version: before.version });
  });

  it('carries a client through BullMQ: tick, sweep, executor evidence, parks at the gate, advance, then blocks where no executor exists', async () => {
    await dataSource.query(`UPDATE clients SET next_check_at = NULL`); // only the new client is due
    const { id } = await clients.create(aClient(serverId) as never, operator);
    await worker.init(); // starts the BullMQ workers and the 1 s tick
    // Outside a campaign, a met gate parks the client until an operator advances it.
    const parked = await waitFor(
      () => clientRow(id),
      (c) => c.state === PhaseState.Done && c.nextCheckAt === null,
    );
    expect(parked.phase).toBe(Phase.VendorCheck);
    await worker.get(ClientTransitions).apply(id, { type: 'advance', by: 'operator' }, 'test-operator');
    const final = await waitFor(
      () => clientRow(id),
      (c) => c.state === PhaseState.Blocked,
    );
    expect(final).toMatchObject({
      phase: Phase.KeyRegistration,
      state: PhaseState.Blocked,
      stateReason: 'this Keyshift build has no executor for phase key_registration',
    });
    expect(vendorCheck.runs).toBeGreaterThanOrEqual(1);
    const actions = (await worker.get(AuditLog).list({ subjectId: id, limit: 20 })).items.map((e) => e.action);
    expect(actions).toEqual([
      'client.created',
      'client.start',
      'client.evidence',
      'client.advance',
      'client.start',
      'client.needs_person',
    ]);
    expect((await worker.get(AuditLog).verify()).ok).toBe(true);
    worker.get(PeriodicJobs).onApplicationShutdown();
  });
});
