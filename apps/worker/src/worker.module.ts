import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from '@keyshift/common';
import { ConfigModule, KeyshiftConfig } from '@keyshift/config';
import { CryptoModule } from '@keyshift/crypto';
import { DatabaseModule } from '@keyshift/database';
import { AuditModule } from '@keyshift/features/audit/audit.module';
import { AuthorizationServersModule } from '@keyshift/features/authorization-servers/authorization-servers.module';
import { DiscoverServerHandler } from '@keyshift/features/authorization-servers/discover-server.handler';
import { ReconcileClientHandler } from '@keyshift/features/reconcile/reconcile-client.handler';
import { ReconcileSweepHandler } from '@keyshift/features/reconcile/reconcile-sweep.handler';
import { ReconcileModule } from '@keyshift/features/reconcile/reconcile.module';
import { OutboundModule } from '@keyshift/outbound';
import { JOB_HANDLERS, JobWorkerHost, QueueModule } from '@keyshift/queue';

/** The worker's composition root: no HTTP, just BullMQ processors (one handler per job name) and the scheduler. */
@Module({})
export class WorkerModule {
  static register(config: KeyshiftConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule,
        CryptoModule,
        DatabaseModule,
        QueueModule,
        OutboundModule,
        AuditModule,
        AuthorizationServersModule,
        ReconcileModule,
      ],
      providers: [
        JobWorkerHost,
        {
          provide: JOB_HANDLERS,
          inject: [ReconcileSweepHandler, ReconcileClientHandler, DiscoverServerHandler],
          useFactory: (...handlers: unknown[]) => handlers,
        },
      ],
    };
  }
}
