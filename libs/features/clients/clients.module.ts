import { Module } from '@nestjs/common';
import { ClientImportService } from './client-import.service';
import { ClientSecrets } from './client-secrets.service';
import { ClientTransitions } from './client-transitions.service';
import { ClientsService } from './clients.service';
import { ServerReverts } from './server-reverts';
import { ServerChangeConfirmations } from './server-change-confirmations';

/** Client inventory and phase transitions: used by the API and by the worker. */
@Module({
  providers: [
    ClientsService,
    ClientImportService,
    ClientTransitions,
    ClientSecrets,
    ServerReverts,
    ServerChangeConfirmations,
  ],
  exports: [
    ClientsService,
    ClientImportService,
    ClientTransitions,
    ClientSecrets,
    ServerReverts,
    ServerChangeConfirmations,
  ],
})
export class ClientsModule {}
