import { DynamicModule, Module } from '@nestjs/common';
import { KeyshiftConfig } from '@keyshift/config';
import { AuthorizationServersModule } from '@keyshift/features/authorization-servers/authorization-servers.module';
import { DiscoverServerHandler } from '@keyshift/features/authorization-servers/discover-server.handler';
import { ReconcileClientHandler } from '@keyshift/features/reconcile/reconcile-client.handler';
import { ReconcileSweepHandler } from '@keyshift/features/reconcile/reconcile-sweep.handler';
import { ProbeJobHandler } from '@keyshift/features/probes/probe-job.handler';
import { ProbeSweepHandler } from '@keyshift/features/probes/probe-sweep.handler';
import { ProbeSweepTick } from '@keyshift/features/probes/probe-sweep.tick';
import { ProbeWorkerPool } from '@keyshift/features/probes/probe-worker-pool';
import { ProbesModule } from '@keyshift/features/probes/probes.module';
import { ReconcileModule } from '@keyshift/features/reconcile/reconcile.module';
import { PlatformModule } from '@keyshift/platform';
import { JOB_HANDLERS, JobWorkerHost } from '@keyshift/queue';

/** The worker's composition root: no HTTP, just BullMQ processors (one handler per job name) and the scheduler. */
@Module({})
export class WorkerModule {
  static register(config: KeyshiftConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [PlatformModule.forRoot(config), AuthorizationServersModule, ReconcileModule, ProbesModule],
      providers: [
        JobWorkerHost,
        ProbeWorkerPool,
        ProbeSweepTick,
        {
          provide: JOB_HANDLERS,
          inject: [
            ReconcileSweepHandler,
            ReconcileClientHandler,
            DiscoverServerHandler,
            ProbeJobHandler,
            ProbeSweepHandler,
          ],
          useFactory: (...handlers: unknown[]) => handlers,
        },
      ],
    };
  }
}
