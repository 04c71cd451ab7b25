import { Global, Module } from '@nestjs/common';
import { ApiTokensRepository } from './api-tokens/api-tokens.repository';
import { AuditRepository } from './audit/audit.repository';
import { ReportsRepository } from './reports/reports.repository';
import { SigningKeysRepository } from './signing/signing-keys.repository';
import { AuthorizationServersRepository } from './authorization-servers/authorization-servers.repository';
import { CampaignsRepository } from './campaigns/campaigns.repository';
import { ClientsRepository } from './clients/clients.repository';
import { KeysRepository } from './keys/keys.repository';
import { ProbesRepository } from './probes/probes.repository';
import { RegistrationExchangesRepository } from './connectors/registration-exchanges.repository';
import { InventoryRepository } from './inventory/inventory.repository';

/**
 * Every aggregate's repository, provided once for every process. Global so that a feature injects
 * the repositories it uses without importing the feature modules that own them (which is how
 * module cycles start); dependency-cruiser allows cross-feature imports of `*.repository.ts`.
 */
const REPOSITORIES = [
  // clients, campaigns, authorization servers, api tokens
  ClientsRepository,
  CampaignsRepository,
  AuthorizationServersRepository,
  ApiTokensRepository,

  // keys, probes, signing keys
  KeysRepository,
  ProbesRepository,
  SigningKeysRepository,

  // connectors: registration exchanges; estate discovery
  RegistrationExchangesRepository,
  InventoryRepository,

  // audit and reports
  AuditRepository,
  ReportsRepository,

  // end
];

@Global()
@Module({
  providers: REPOSITORIES,
  exports: REPOSITORIES,
})
export class RepositoriesModule {}
