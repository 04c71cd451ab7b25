import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ClientsModule } from '../clients/clients.module';
import { ConnectorCatalog } from '../ports/connector-catalog';
import { AdminHttp } from './admin-http';
import { AdminSessions } from './admin-sessions';
import { ConnectorRegistry } from './connector-registry';
import { HydraConnector } from './hydra/hydra.connector';
import { KeycloakConnector } from './keycloak/keycloak.connector';
import { OktaConnector } from './okta/okta.connector';
import { ConnectorTargets } from './connector-targets';
import { ManualConnector } from './manual.connector';
import { Registrar } from './registrar';
import { RegistrationJournal } from './registration-journal';
import { RegistrationRecords } from './registration-records';
import { RegistrationRecovery } from './registration-recovery';
import { Rfc7592Http } from './rfc7592-http';
import { Rfc7592Connector } from './rfc7592.connector';
import { ServerInventory } from './server-inventory';

/**
 * How Keyshift changes registrations at authorization servers: the connectors (RFC 7592, the admin
 * APIs of Keycloak, Okta and Ory Hydra, or an operator by hand; any module may add one with `@Connector`), and the Registrar around them.
 * Global for the catalog: the authorization server API validates connector types against it.
 */
@Global()
@Module({
  imports: [DiscoveryModule, ClientsModule],
  providers: [
    Rfc7592Http,
    Rfc7592Connector,
    AdminHttp,
    AdminSessions,
    KeycloakConnector,
    HydraConnector,
    OktaConnector,
    ManualConnector,
    ConnectorRegistry,
    { provide: ConnectorCatalog, useExisting: ConnectorRegistry },
    ConnectorTargets,
    RegistrationJournal,
    RegistrationRecords,
    RegistrationRecovery,
    Registrar,
    ServerInventory,
  ],
  exports: [Registrar, ServerInventory, ConnectorRegistry, ConnectorCatalog],
})
export class ConnectorsModule {}
