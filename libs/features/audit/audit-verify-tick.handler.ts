import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { AuditLog } from './audit-log.service';

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.AuditVerifyTick>): Promise<void> {
    const [{ due }] = (await this.dataSource.query(
      `SELECT NOT EXISTS (
         SELECT 1 FROM audit_verify_runs WHERE trigger = 'schedule' AND finished_at > $1::timestamptz - make_interval(hours => $2)
       ) AS due`,
      [this.clock.now(), this.config.audit.fullVerifyHours],
    )) as { due: boolean }[];
    if (!due) return;
    const report = await this.audit.verify({ mode: 'full', trigger: 'schedule' });
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
