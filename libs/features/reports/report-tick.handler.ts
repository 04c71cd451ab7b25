import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@keyshift/common';
import { JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { REPORT_MAX_ATTEMPTS } from './render-report.handler';

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {}

  async handle(_data: PayloadOf<JobName.ReportTick>): Promise<void> {
    const now = this.clock.now();
    await this.dataSource.query('DELETE FROM reports WHERE expires_at <= $1', [now]);
    const owed = await this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `SELECT id, attempts FROM reports
         WHERE status IN ('queued', 'running') AND coalesce(started_at, created_at) < $1::timestamptz - make_interval(secs => $2)
         FOR UPDATE SKIP LOCKED`,
        [now, GRACE_SECONDS],
      )) as { id: string; attempts: number }[];
      const spent = rows.filter((r) => r.attempts >= REPORT_MAX_ATTEMPTS).map((r) => r.id);
      const again = rows.filter((r) => r.attempts < REPORT_MAX_ATTEMPTS);
      await m.query(
        `UPDATE reports SET status = 'failed', error = 'the report could not be produced in ' || attempts || ' attempts'
         WHERE id = ANY($1::uuid[])`,
        [spent],
      );
      await m.query(`UPDATE reports SET status = 'queued' WHERE id = ANY($1::uuid[])`, [again.map((r) => r.id)]);
      return again;
    });
    // The attempt count names the job, so a retry is a new job while a pending one is not duplicated.
    await this.jobs.enqueueMany(
      owed.map((r): JobPayload => ({ name: JobName.ReportRender, data: { reportId: r.id, attempt: r.attempts } })),
    );
  }
}
