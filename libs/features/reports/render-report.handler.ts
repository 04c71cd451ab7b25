import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER, newId } from '@keyshift/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { Transactions } from '@keyshift/database';
import { EstateReports } from './estate-reports.service';
import { EstateFilter } from './estate-summary';
import { EvidencePacks } from './evidence/evidence-packs.service';
import { renderEstatePdf } from './pdf/estate-pdf';
import { ReportEntity, ReportFormat, ReportKind } from './report.entity';
import { ReportChunkWriter } from './report-store';
import { ReportsRepository } from './reports.repository';

/** Tries of one report, counted on its row (a worker killed by it counts too). */
export const REPORT_MAX_ATTEMPTS = 3;

/**
 * Produces one requested report into `report_chunks`.
 *
 * The report row's lock is the proof that a worker is rendering it: the render transaction holds
 * `FOR UPDATE` on the row from its claim to its commit, where the chunks and `ready` land together.
 * A duplicate delivery finds the row locked (SKIP LOCKED) and leaves; a worker killed halfway loses
 * its transaction, so the row is unlocked, still `running`, with no chunks, and the tick hands it
 * out again. Retries are the tick's, never BullMQ's, so an attempt is counted once, on the row.
 */
@Injectable()
export class RenderReportHandler implements JobHandler<JobName.ReportRender> {
  readonly name = JobName.ReportRender;

  constructor(
    private readonly reports: ReportsRepository,
    private readonly transactions: Transactions,
    private readonly estate: EstateReports,
    private readonly evidence: EvidencePacks,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(data: PayloadOf<JobName.ReportRender>): Promise<void> {
    if (!(await this.claim(data.reportId))) return;
    try {
      await this.transactions.run(async (m) => {
        const report = await this.reports.lockRunning(m, data.reportId);
        if (!report) return; // another delivery holds it, or it is gone
        const writer = new ReportChunkWriter((seq, chunk) => this.reports.insertChunk(m, report.id, seq, chunk));
        await pipeline(await this.content(report), writer);
        await this.reports.markReady(m, report.id, writer.byteSize, writer.sha256, this.clock.now());
      });
    } catch (error) {
      // The reason stays in the log with a reference; the row (and so the API) says only what failed.
      const reference = newId();
      this.logger.warn({ reportId: data.reportId, reference, err: (error as Error).message }, 'report failed');
      await this.reports.markAttemptFailed(
        data.reportId,
        REPORT_MAX_ATTEMPTS,
        `the report could not be produced (log reference ${reference})`,
      );
    }
  }

  /**
   * Moves a queued report to running and counts the attempt, committed before the work so that a
   * report that kills its worker is given up on after REPORT_MAX_ATTEMPTS. False: nothing to do.
   */
  private claim(reportId: string): Promise<boolean> {
    return this.reports.claim(reportId, this.clock.now(), REPORT_MAX_ATTEMPTS);
  }

  private async content(report: ReportEntity): Promise<Readable> {
    switch (report.kind) {
      case ReportKind.Estate: {
        const { section, ...filter } = report.params as EstateFilter & { section?: string };
        if (report.format === ReportFormat.Pdf) return renderEstatePdf(await this.estate.summary(filter));
        const format = report.format === ReportFormat.Csv ? ReportFormat.Csv : ReportFormat.Json;
        return Readable.from(this.estate.chunks(filter, format, section === 'summary' ? 'summary' : 'clients'));
      }
      case ReportKind.CampaignEvidence: {
        const { jws } = await this.evidence.campaign(report.params.campaignId, report.requestedBy);
        return Readable.from([jws]);
      }
    }
  }
}
