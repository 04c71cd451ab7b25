import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.service';

/** Global: nearly every write in Keyshift appends to the audit log in its own transaction. */
@Global()
@Module({ providers: [AuditLog], exports: [AuditLog] })
export class AuditModule {}
