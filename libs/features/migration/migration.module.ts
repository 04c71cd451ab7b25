import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { ConnectorsModule } from '../connectors/connectors.module';
import { KeysModule } from '../keys/keys.module';
import { ProbesModule } from '../probes/probes.module';
import { CutoverExecutor } from './cutover.executor';
import { FirstKey } from './first-key';
import { KeyRegistrationExecutor } from './key-registration.executor';
import { ParallelAuthExecutor } from './parallel-auth.executor';
import { PhaseWork } from './phase-work';
import { PublishedKeyCheck } from './published-key-check';
import { SecretRevocationExecutor } from './secret-revocation.executor';
import { SenderConstraintExecutor } from './sender-constraint.executor';
import { RegistrationConverger } from './registration-converger';
import { ServerRevertHandler } from './server-revert.handler';

export const MIGRATION_EXECUTORS = [
  KeyRegistrationExecutor,
  ParallelAuthExecutor,
  CutoverExecutor,
  SecretRevocationExecutor,
  SenderConstraintExecutor,
];

/** Phases 2 to 6 at the server: the executors, what they share, and the revert job of rollbacks. */
@Module({
  imports: [ClientsModule, ConnectorsModule, KeysModule, ProbesModule],
  providers: [
    FirstKey,
    PublishedKeyCheck,
    RegistrationConverger,
    PhaseWork,
    ServerRevertHandler,
    ...MIGRATION_EXECUTORS,
  ],
  exports: [ServerRevertHandler, ...MIGRATION_EXECUTORS],
})
export class MigrationModule {}
