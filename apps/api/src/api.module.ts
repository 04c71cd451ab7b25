import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { KeyshiftConfig } from '@keyshift/config';
import { ApiTokensModule } from '@keyshift/features/api-tokens/api-tokens.module';
import { AuditHttpModule } from '@keyshift/features/audit/audit-http.module';
import { ConnectorsModule } from '@keyshift/features/connectors/connectors.module';
import { AuthorizationServersHttpModule } from '@keyshift/features/authorization-servers/authorization-servers-http.module';
import { ClientsHttpModule } from '@keyshift/features/clients/clients-http.module';
import { ProbesHttpModule } from '@keyshift/features/probes/probes-http.module';
import { KeysHttpModule } from '@keyshift/features/keys/keys-http.module';
import { CampaignsHttpModule } from '@keyshift/features/campaigns/campaigns-http.module';
import { ReportsHttpModule } from '@keyshift/features/reports/reports-http.module';
import { InventoryHttpModule } from '@keyshift/features/inventory/inventory-http.module';
import { HealthModule } from '@keyshift/features/health/health.module';
import { MetricsModule } from '@keyshift/features/metrics/metrics.module';
import { PlatformModule } from '@keyshift/platform';
import { ApiExceptionFilter } from './http/exception.filter';
import { createValidationPipe } from './http/validation.pipe';

/** The REST API's composition root: platform modules, then one module per feature. */
@Module({})
export class ApiModule {
  static register(config: KeyshiftConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        PlatformModule.forRoot(config),
        MetricsModule,
        ApiTokensModule,
        // The connector catalog, which the authorization server API validates connector types against.
        ConnectorsModule,
        AuthorizationServersHttpModule,
        InventoryHttpModule,
        ClientsHttpModule,
        ProbesHttpModule,
        KeysHttpModule,
        CampaignsHttpModule,
        AuditHttpModule,
        ReportsHttpModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
