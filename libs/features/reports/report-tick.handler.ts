import { Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { Transactions } from '@keyshift/database';
import { REPORT_MAX_ATTEMPTS } from './render-report.handler';
import { ReportsRepository } from './reports.repository';

/** A report queued this long without being claimed, or left running unlocked this long, lost its job. */
const GRACE_SECONDS = 60;

/**
 * Deletes expired reports (their chunks cascade) and hands out again the reports whose job was
 * lost (Redis emptied) or whose worker died (row `running` but unlocked): a live render holds the
 * row's lock, so SKIP LOCKED passes it by. A report out of attempts is failed.
 */
@Injectable()
export class ReportTickHandler implements JobHandler<JobName.ReportTick> {
  readonly name = JobName.ReportTick;

  constructor(
    private readonly reports: ReportsRepository,
    private readonly transactions: Transactions,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {}

  async handle(_data: PayloadOf<JobName.ReportTick>): Promise<void> {
    const now = this.clock.now();
    await this.reports.deleteExpired(now);
    const owed = await this.transactions.run(async (m) => {
      const rows = await this.reports.lockOwed(m, now, GRACE_SECONDS);
      const spent = rows.filter((r) => r.attempts >= REPORT_MAX_ATTEMPTS).map((r) => r.id);
      const again = rows.filter((r) => r.attempts < REPORT_MAX_ATTEMPTS);
      await this.reports.failOutOfAttempts(m, spent);
      await this.reports.requeue(
        m,
        again.map((r) => r.id),
      );
      return again;
    });
    // The attempt count names the job, so a retry is a new job while a pending one is not duplicated.
    await this.jobs.enqueueMany(
      owed.map((r): JobPayload => ({ name: JobName.ReportRender, data: { reportId: r.id, attempt: r.attempts } })),
    );
  }
}
