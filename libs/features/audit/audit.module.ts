import { Global, Module } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { AuditAppendService } from './audit-append.service';
import { AuditLog } from './audit-log.service';
import { AuditQueryService } from './audit-query.service';
import { AUDIT_KEYS, deriveAuditKeys } from './audit-keys';
import { AuditVerifyTickHandler } from './audit-verify-tick.handler';
import { AuditVerifyService } from './audit-verify.service';
import { RuntimeRoleCheck } from './runtime-role-check';

/**
 * Global: nearly every write in Keyshift appends to the audit log in its own transaction. Its SQL is
 * in AuditRepository, provided by RepositoriesModule.
 */
@Global()
@Module({
  providers: [
    AuditAppendService,
    AuditQueryService,
    AuditVerifyService,
    AuditLog,
    AuditVerifyTickHandler,
    RuntimeRoleCheck,
    {
      provide: AUDIT_KEYS,
      inject: [KEYSHIFT_CONFIG],
      useFactory: (config: KeyshiftConfig) => deriveAuditKeys(config.crypto.masterKey),
    },
  ],
  exports: [AuditAppendService, AuditQueryService, AuditVerifyService, AuditLog, AUDIT_KEYS, AuditVerifyTickHandler],
})
export class AuditModule {}
