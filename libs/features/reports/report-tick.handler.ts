import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@keyshift/common';
import { JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { REPORT_MAX_ATTEMPTS } from './render-report.handler';

/** A report still queued after this long, or running this long, lost its job (Redis emptied, worker killed). */
const QUEUED_GRACE_SECONDS = 60;
const RUNNING_GRACE_SECONDS = 15 * 60;

/** Deletes expired reports (their chunks cascade) and re-queues reports whose job was lost. */
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
    await this.dataSource.query(
      `UPDATE reports SET status = 'failed', error = 'the worker stopped while producing it, ' || attempts || ' times'
       WHERE status = 'running' AND attempts >= $2 AND started_at < $1::timestamptz - make_interval(secs => $3)`,
      [now, REPORT_MAX_ATTEMPTS, RUNNING_GRACE_SECONDS],
    );
    const lost = (await this.dataSource.query(
      `SELECT id, attempts FROM reports
       WHERE (status = 'queued' AND coalesce(started_at, created_at) < $1::timestamptz - make_interval(secs => $2))
          OR (status = 'running' AND started_at < $1::timestamptz - make_interval(secs => $3))`,
      [now, QUEUED_GRACE_SECONDS, RUNNING_GRACE_SECONDS],
    )) as { id: string; attempts: number }[];
    await this.jobs.enqueueMany(
      lost.map((r): JobPayload => ({ name: JobName.ReportRender, data: { reportId: r.id, attempt: r.attempts } })),
    );
  }
}
