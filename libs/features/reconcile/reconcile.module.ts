import { Module } from '@nestjs/common';
import { AuthorizationServersModule } from '../authorization-servers/authorization-servers.module';
import { ClientsModule } from '../clients/clients.module';
import { MIGRATION_EXECUTORS, MigrationModule } from '../migration/migration.module';
import { VendorCheckExecutor } from '../vendor-check/vendor-check.executor';
import { PHASE_EXECUTORS } from './phase-executor';
import { ReconcileClientHandler } from './reconcile-client.handler';
import { ReconcileSweepHandler } from './reconcile-sweep.handler';

/** The reconcile loop and the phase executors it runs, one per phase. */
@Module({
  imports: [ClientsModule, AuthorizationServersModule, MigrationModule],
  providers: [
    ReconcileSweepHandler,
    ReconcileClientHandler,
    VendorCheckExecutor,
    {
      provide: PHASE_EXECUTORS,
      inject: [VendorCheckExecutor, ...MIGRATION_EXECUTORS],
      useFactory: (...executors: unknown[]) => executors,
    },
  ],
  exports: [ReconcileSweepHandler, ReconcileClientHandler],
})
export class ReconcileModule {}
