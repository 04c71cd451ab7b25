import { Module } from '@nestjs/common';
import { ClientImportService } from './client-import.service';
import { ClientSecrets } from './client-secrets.service';
import { ClientTransitions } from './client-transitions.service';
import { ClientsService } from './clients.service';

/** Client inventory and phase transitions: used by the API and by the worker. */
@Module({
  providers: [ClientsService, ClientImportService, ClientTransitions, ClientSecrets],
  exports: [ClientsService, ClientImportService, ClientTransitions, ClientSecrets],
})
export class ClientsModule {}
