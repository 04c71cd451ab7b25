import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { Connectors } from './connectors';
import { ManualConnector } from './manual.connector';
import { RegistrationJournal } from './registration-journal';
import { RegistrationRecovery } from './registration-recovery';
import { Rfc7592Http } from './rfc7592-http';
import { Rfc7592Connector } from './rfc7592.connector';

/** How Keyshift changes registrations at authorization servers (RFC 7592, or an operator by hand). */
@Module({
  imports: [ClientsModule],
  providers: [Rfc7592Http, RegistrationJournal, RegistrationRecovery, Rfc7592Connector, ManualConnector, Connectors],
  exports: [Connectors, Rfc7592Connector, ManualConnector],
})
export class ConnectorsModule {}
