import { Module } from '@nestjs/common';
import { AuthorizationServersModule } from '../authorization-servers/authorization-servers.module';
import { ClientsModule } from '../clients/clients.module';
import { MIGRATION_EXECUTORS, MigrationModule } from '../migration/migration.module';
import { PHASE_EXECUTORS } from '../clients/phase-executor.port';
import { VendorCheckExecutor, VendorCheckModule } from '../vendor-check/vendor-check.module';
import { ReconcileClientHandler } from './reconcile-client.handler';
import { ReconcileSweepHandler } from './reconcile-sweep.handler';

/** The reconcile loop and the phase executors it runs, one per phase. */
@Module({
  imports: [ClientsModule, AuthorizationServersModule, MigrationModule, VendorCheckModule],
  providers: [
    ReconcileSweepHandler,
    ReconcileClientHandler,
    {
      provide: PHASE_EXECUTORS,
      inject: [VendorCheckExecutor, ...MIGRATION_EXECUTORS],
      useFactory: (...executors: unknown[]) => executors,
    },
  ],
  exports: [ReconcileSweepHandler, ReconcileClientHandler],
})
export class ReconcileModule {}
