import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { AuditVerifyService } from './audit-verify.service';
import { AuditRepository } from './audit.repository';

/**
 * The scheduled full verification: walks the whole chain from the genesis when the last scheduled
 * walk finished longer ago than KEYSHIFT_AUDIT_FULL_VERIFY_HOURS (or never ran). The tick comes
 * more often than the period, so a worker restarted more often than the period still verifies on
 * time; the walk records its own outcome, which the estate report states.
 */
@Injectable()
export class AuditVerifyTickHandler implements JobHandler<JobName.AuditVerifyTick> {
  readonly name = JobName.AuditVerifyTick;

  constructor(
    private readonly repository: AuditRepository,
    private readonly verifier: AuditVerifyService,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.AuditVerifyTick>): Promise<void> {
    const due = await this.repository.scheduledVerifyDue(this.clock.now(), this.config.audit.fullVerifyHours);
    if (!due) return;
    const report = await this.verifier.verify({ mode: 'full', trigger: 'schedule' });
    if (report.ok) {
      this.logger.info({ eventsChecked: report.eventsChecked, tip: report.tip.seq }, 'audit chain verified');
    } else {
      this.logger.error(
        { eventsChecked: report.eventsChecked, firstBreak: report.firstBreak },
        'audit chain verification found a break',
      );
    }
  }
}
