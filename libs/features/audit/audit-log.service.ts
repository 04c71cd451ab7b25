import { Injectable } from '@nestjs/common';
import { Page } from '@keyshift/common';
import { Tx } from '@keyshift/database';
import { AuditAppendService, AuditEntry } from './audit-append.service';
import { AuditEventView, AuditFilter, AuditQueryService } from './audit-query.service';
import { AuditVerifyService, VerifyOptions, VerifyReport } from './audit-verify.service';

export { AuditChainTamperedError } from './audit-append.service';
export type { AuditEntry } from './audit-append.service';
export { auditEventView } from './audit-query.service';
export type { AuditEventView, AuditFilter } from './audit-query.service';
export { AUDIT_VERIFY_TUNING } from './audit-verify.service';
export type { AuditVerifyTuning, CheckpointView, VerifyOptions, VerifyReport } from './audit-verify.service';
export type { AuditEventRow } from './audit.repository';

/**
 * The audit log as the other features see it: a facade, no SQL and no logic of its own, over the
 * three services that do one job each — AuditAppendService (writing chained events),
 * AuditQueryService (reading them for the API and reports), AuditVerifyService (walking the chain,
 * checkpoints). Kept because some thirty files across the features append through it; new code in
 * audit/ uses the services directly (the controller and the verify tick do).
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly appender: AuditAppendService,
    private readonly query: AuditQueryService,
    private readonly verifier: AuditVerifyService,
  ) {}

  /** See AuditAppendService.recordSoon: one event, batched with concurrent ones into a transaction. */
  recordSoon(entry: AuditEntry): Promise<void> {
    return this.appender.recordSoon(entry);
  }

  /** See AuditAppendService.append: inside the caller's transaction, last, just before commit. */
  append(tx: Tx, entries: AuditEntry[]): Promise<void> {
    return this.appender.append(tx, entries);
  }

  /** See AuditAppendService.record: in a transaction of its own. */
  record(entries: AuditEntry[]): Promise<void> {
    return this.appender.record(entries);
  }

  /** See AuditAppendService.adoptUnsealedChain (which runs at boot). */
  adoptUnsealedChain(): Promise<boolean> {
    return this.appender.adoptUnsealedChain();
  }

  list(filter: AuditFilter): Promise<Page<AuditEventView>> {
    return this.query.list(filter);
  }

  /** See AuditVerifyService.verify. */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return this.verifier.verify(options);
  }
}
