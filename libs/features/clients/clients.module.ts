import { Module } from '@nestjs/common';
import { ClientImportService } from './client-import.service';
import { ClientImports } from '../ports/client-imports';
import { ClientSecrets } from './client-secrets.service';
import { ClientTransitions } from './client-transitions.service';
import { ClientsService } from './clients.service';
import { ServerReverts } from './server-reverts';
import { ServerChangeConfirmations } from './server-change-confirmations';
import { RegistrationTokenReplacements } from './registration-token-replacements';
import { SealedClientValues } from '../ports/sealed-client-values';

const CLIENT_SERVICES = [
  ClientsService,
  ClientImportService,
  ClientTransitions,
  ClientSecrets,
  ServerReverts,
  ServerChangeConfirmations,
  RegistrationTokenReplacements,
];

/** Client inventory and phase transitions: used by the API and by the worker. */
@Module({
  providers: [
    ...CLIENT_SERVICES,
    { provide: SealedClientValues, useExisting: ClientSecrets },
    { provide: ClientImports, useExisting: ClientImportService },
  ],
  exports: [...CLIENT_SERVICES, SealedClientValues, ClientImports],
})
export class ClientsModule {}
