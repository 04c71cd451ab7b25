import { Clock } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { AuditAppendService } from '@keyshift/features/audit/audit-append.service';
import { AuditKeys } from '@keyshift/features/audit/audit-keys';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuditQueryService } from '@keyshift/features/audit/audit-query.service';
import { AuditVerifyService, AuditVerifyTuning } from '@keyshift/features/audit/audit-verify.service';
import { AuditRepository } from '@keyshift/features/audit/audit.repository';
import { DataSource } from 'typeorm';

/** The audit log's parts wired by hand over `dataSource`, as AuditModule wires them. */
export function auditParts(dataSource: DataSource, clock: Clock, keys: AuditKeys, tuning?: Partial<AuditVerifyTuning>) {
  const repository = new AuditRepository(dataSource);
  const transactions = new Transactions(dataSource);
  const append = new AuditAppendService(repository, transactions, clock, keys);
  const query = new AuditQueryService(repository);
  const verify = new AuditVerifyService(repository, transactions, clock, keys, tuning);
  return { repository, append, query, verify, log: new AuditLog(append, query, verify) };
}

/** The AuditLog facade over `dataSource` (what `new AuditLog(dataSource, clock, keys, tuning)` was). */
export function auditLogFor(
  dataSource: DataSource,
  clock: Clock,
  keys: AuditKeys,
  tuning?: Partial<AuditVerifyTuning>,
): AuditLog {
  return auditParts(dataSource, clock, keys, tuning).log;
}
