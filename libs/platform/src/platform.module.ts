import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from '@keyshift/common';
import { ConfigModule, KeyshiftConfig } from '@keyshift/config';
import { CryptoModule } from '@keyshift/crypto';
import { DatabaseModule } from '@keyshift/database';
import { AuditModule } from '@keyshift/features/audit/audit.module';
import { KeyCustodyModule } from '@keyshift/features/keys/key-custody.module';
import { RepositoriesModule } from '@keyshift/features/repositories.module';
import { OutboundModule } from '@keyshift/outbound';
import { QueueModule } from '@keyshift/queue';

/**
 * What every Keyshift process stands on: validated config, clock and logger, the cipher,
 * PostgreSQL and the repositories, Redis queues, the outbound HTTP guard, the audit log and key custody. The API and the worker
 * (and tests that build a slice of either) import this, then the features they serve.
 */
@Module({})
export class PlatformModule {
  static forRoot(config: KeyshiftConfig): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule,
        CryptoModule,
        DatabaseModule,
        RepositoriesModule,
        QueueModule,
        OutboundModule,
        AuditModule,
        KeyCustodyModule,
      ],
    };
  }
}
