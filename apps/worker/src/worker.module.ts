import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from '@keyshift/common';
import { ConfigModule, KeyshiftConfig } from '@keyshift/config';
import { CryptoModule } from '@keyshift/crypto';
import { DatabaseModule } from '@keyshift/database';
import { AuditModule } from '@keyshift/features/audit/audit.module';
import { ReconcileModule } from '@keyshift/features/reconcile/reconcile.module';
import { QueueModule } from '@keyshift/queue';

/** The worker's composition root: no HTTP, just BullMQ processors and the scheduler. */
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
        AuditModule,
        ReconcileModule,
      ],
    };
  }
}
