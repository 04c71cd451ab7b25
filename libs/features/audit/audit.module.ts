import { Global, Module } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { AuditLog } from './audit-log.service';
import { AUDIT_KEYS, deriveAuditKeys } from './audit-keys';
import { AuditVerifyTickHandler } from './audit-verify-tick.handler';
import { RuntimeRoleCheck } from './runtime-role-check';

/** Global: nearly every write in Keyshift appends to the audit log in its own transaction. */
@Global()
@Module({
  providers: [
    AuditLog,
    AuditVerifyTickHandler,
    RuntimeRoleCheck,
    {
      provide: AUDIT_KEYS,
      inject: [KEYSHIFT_CONFIG],
      useFactory: (config: KeyshiftConfig) => deriveAuditKeys(config.crypto.masterKey),
    },
  ],
  exports: [AuditLog, AUDIT_KEYS, AuditVerifyTickHandler],
})
export class AuditModule {}
