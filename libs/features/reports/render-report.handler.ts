import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import type { Job } from 'bullmq';
import { write } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { EstateReports } from './estate-reports.service';
import { EstateFilter } from './estate-summary';
import { EvidencePacks } from './evidence/evidence-packs.service';
import { renderEstatePdf } from './pdf/estate-pdf';
import { ReportEntity, ReportFormat, ReportKind, ReportStatus } from './report.entity';
import { ReportChunkWriter } from './report-store';

/**
 * Produces one requested report into `report_chunks`. The chunks and the `ready` status commit
 * together, so a worker killed halfway leaves a report that is still queued/running with no
 * content, and the next attempt starts it again from nothing.
 */
/** Tries of one report, counted on its row across lost jobs too. */
export const REPORT_MAX_ATTEMPTS = 3;

@Injectable()
export class RenderReportHandler implements JobHandler<JobName.ReportRender> {
  readonly name = JobName.ReportRender;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly estate: EstateReports,
    private readonly evidence: EvidencePacks,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(data: PayloadOf<JobName.ReportRender>, job?: Job): Promise<void> {
    const report = await this.start(data.reportId);
    if (!report) return;
    try {
      await this.dataSource.transaction(async (m) => {
        const writer = new ReportChunkWriter(m, report.id);
        await pipeline(await this.content(report), writer);
        await m.query(
          `UPDATE reports SET status = 'ready', byte_size = $2, sha256 = $3, finished_at = $4, error = NULL
           WHERE id = $1`,
          [report.id, writer.byteSize, writer.sha256, this.clock.now()],
        );
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const lastTry =
        report.attempts >= REPORT_MAX_ATTEMPTS || !job || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.logger.warn({ reportId: report.id, err: message, lastTry }, 'report failed');
      // Never over a `ready` written meanwhile by a duplicate delivery of the same job.
      await this.dataSource.query(`UPDATE reports SET status = $2, error = $3 WHERE id = $1 AND status <> 'ready'`, [
        report.id,
        lastTry ? ReportStatus.Failed : ReportStatus.Queued,
        message.slice(0, 500),
      ]);
      if (!lastTry) throw error;
    }
  }

  /** Claims the report (counting the attempt), or null if it is gone, done or given up on. */
  private async start(reportId: string): Promise<ReportEntity | null> {
    const { count } = await write(
      this.dataSource.manager,
      `UPDATE reports SET status = 'running', attempts = attempts + 1, started_at = $2
       WHERE id = $1 AND status IN ('queued', 'running')`,
      [reportId, this.clock.now()],
    );
    if (count === 0) return null;
    return this.dataSource.getRepository(ReportEntity).findOneOrFail({ where: { id: reportId } });
  }

  private async content(report: ReportEntity): Promise<Readable> {
    switch (report.kind) {
      case ReportKind.Estate: {
        const filter = report.params as EstateFilter;
        if (report.format === ReportFormat.Pdf) return renderEstatePdf(await this.estate.summary(filter));
        const format = report.format === ReportFormat.Csv ? 'csv' : 'json';
        return Readable.from(
          this.estate.chunks(filter, format, report.params.section === 'summary' ? 'summary' : 'clients'),
        );
      }
      case ReportKind.CampaignEvidence: {
        const { jws } = await this.evidence.campaign(report.params.campaignId, report.requestedBy);
        return Readable.from([jws]);
      }
    }
  }
}
