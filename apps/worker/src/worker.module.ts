import { DynamicModule, Module } from '@nestjs/common';
import { KeyshiftConfig } from '@keyshift/config';
import { AuthorizationServersModule } from '@keyshift/features/authorization-servers/authorization-servers.module';
import { InventoryModule } from '@keyshift/features/inventory/inventory.module';
import { InventoryRunHandler } from '@keyshift/features/inventory/inventory-run.handler';
import { InventoryTickHandler } from '@keyshift/features/inventory/inventory-tick.handler';
import { DiscoverServerHandler } from '@keyshift/features/authorization-servers/discover-server.handler';
import { ReconcileClientHandler } from '@keyshift/features/reconcile/reconcile-client.handler';
import { ReconcileSweepHandler } from '@keyshift/features/reconcile/reconcile-sweep.handler';
import { ProbeJobHandler } from '@keyshift/features/probes/probe-job.handler';
import { ProbeSweepHandler } from '@keyshift/features/probes/probe-sweep.handler';
import { ProbeWorkerPool } from '@keyshift/features/probes/probe-worker-pool';
import { ProbesModule } from '@keyshift/features/probes/probes.module';
import { KeysModule } from '@keyshift/features/keys/keys.module';
import { ConnectorsModule } from '@keyshift/features/connectors/connectors.module';
import { KeyRotationStepHandler } from '@keyshift/features/keys/key-rotation-step.handler';
import { KeyRotationTickHandler } from '@keyshift/features/keys/key-rotation-tick.handler';
import { ReconcileModule } from '@keyshift/features/reconcile/reconcile.module';
import { MigrationModule } from '@keyshift/features/migration/migration.module';
import { ServerRevertHandler } from '@keyshift/features/migration/server-revert.handler';
import { CampaignsModule } from '@keyshift/features/campaigns/campaigns.module';
import { CampaignTickHandler } from '@keyshift/features/campaigns/campaign-tick.handler';
import { ReportsModule } from '@keyshift/features/reports/reports.module';
import { RenderReportHandler } from '@keyshift/features/reports/render-report.handler';
import { ReportTickHandler } from '@keyshift/features/reports/report-tick.handler';
import { AuditVerifyTickHandler } from '@keyshift/features/audit/audit-verify-tick.handler';
import { PlatformModule } from '@keyshift/platform';
import { JOB_HANDLERS, JobName, JobWorkerHost, PERIODIC_JOBS, PeriodicJobs, PeriodicJobSpec } from '@keyshift/queue';
import { ScheduleModule } from '@nestjs/schedule';

/** The worker's composition root: no HTTP, just BullMQ processors (one handler per job name) and the scheduler. */
@Module({})
export class WorkerModule {
  static register(config: KeyshiftConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ScheduleModule.forRoot(),
        PlatformModule.forRoot(config),
        AuthorizationServersModule,
        InventoryModule,
        ReconcileModule,
        ProbesModule,
        KeysModule,
        ConnectorsModule,
        MigrationModule,
        CampaignsModule,
        ReportsModule,
      ],
      providers: [
        JobWorkerHost,
        ProbeWorkerPool,
        PeriodicJobs,
        { provide: PERIODIC_JOBS, useValue: periodicJobs(config) },
        {
          provide: JOB_HANDLERS,
          inject: [
            ReconcileSweepHandler,
            ReconcileClientHandler,
            DiscoverServerHandler,
            ProbeJobHandler,
            ProbeSweepHandler,
            KeyRotationTickHandler,
            KeyRotationStepHandler,
            ServerRevertHandler,
            CampaignTickHandler,
            RenderReportHandler,
            ReportTickHandler,
            AuditVerifyTickHandler,
            InventoryRunHandler,
            InventoryTickHandler,
          ],
          useFactory: (...handlers: unknown[]) => handlers,
        },
      ],
    };
  }
}

/** The worker's schedule: reconcile sweeps, the evidence refresh of the probe sweep, key rotations, campaign waves and report upkeep. */
function periodicJobs(config: KeyshiftConfig): PeriodicJobSpec[] {
  return [
    {
      name: 'reconcile-tick',
      intervalMs: config.reconcile.intervalSeconds * 1000,
      build: (tick) => ({ name: JobName.ReconcileSweep, data: { tick } }),
    },
    {
      name: 'probe-sweep-tick',
      intervalMs: config.probes.sweepIntervalSeconds * 1000,
      build: (tick) => ({ name: JobName.ProbeSweep, data: { tick } }),
    },
    {
      name: 'key-rotation-tick',
      intervalMs: config.keys.rotationTickSeconds * 1000,
      build: (tick) => ({ name: JobName.KeyRotationTick, data: { tick } }),
    },
    {
      name: 'report-tick',
      intervalMs: config.reports.tickSeconds * 1000,
      build: (tick) => ({ name: JobName.ReportTick, data: { tick } }),
    },
    {
      // Every 10 minutes (or the period, if shorter) the handler checks whether a full walk is due.
      name: 'audit-verify-tick',
      intervalMs: Math.min(config.audit.fullVerifyHours * 3_600_000, 600_000),
      build: (tick) => ({ name: JobName.AuditVerifyTick, data: { tick } }),
    },
    {
      name: 'inventory-tick',
      intervalMs: 60_000,
      build: (tick) => ({ name: JobName.InventoryTick, data: { tick } }),
    },
    {
      name: 'campaign-tick',
      intervalMs: config.campaigns.tickSeconds * 1000,
      build: (tick) => ({ name: JobName.CampaignTick, data: { tick } }),
    },
  ];
}
