import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode, Logger, LOGGER, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobName, JobQueue } from '@keyshift/queue';
import { Transactions } from '@keyshift/database';
import { AuditLog } from '../audit/audit-log.service';
import { CampaignsRepository } from '../campaigns/campaigns.repository';
import { ReportEntity, ReportFormat, ReportKind, ReportStatus } from './report.entity';
import { readReportChunks } from './report-store';
import { ReportsRepository } from './reports.repository';
import { compactFilter } from './estate-filter';
import { RequestReportDto } from './reports.dto';

export interface ReportView {
  id: string;
  kind: ReportKind;
  format: ReportFormat;
  params: Record<string, string>;
  status: ReportStatus;
  error: string | null;
  byteSize: number | null;
  sha256: string | null;
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string;
  /** Where the content is, once `status` is `ready`. */
  contentUrl: string | null;
}

function viewOf(r: ReportEntity): ReportView {
  return {
    id: r.id,
    kind: r.kind,
    format: r.format,
    params: r.params,
    status: r.status,
    error: r.error,
    byteSize: r.byteSize === null ? null : Number(r.byteSize),
    sha256: r.sha256,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    expiresAt: r.expiresAt.toISOString(),
    contentUrl: r.status === ReportStatus.Ready ? `/v1/reports/${r.id}/content` : null,
  };
}

/**
 * Reports the worker produces: requested here (202 and a row to poll), rendered by
 * RenderReportHandler into chunks, downloaded from here when ready, deleted when expired.
 */
@Injectable()
export class ReportRuns {
  constructor(
    private readonly reports: ReportsRepository,
    private readonly campaigns: CampaignsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async request(kind: ReportKind, format: ReportFormat, params: Record<string, string>, actor: string) {
    // The same report already on its way is the answer: repeated requests do not pile up work.
    const pending = await this.reports.findPending(kind, format, params);
    if (pending) return viewOf(pending);
    const now = this.clock.now();
    const report: ReportEntity = {
      id: newId(),
      kind,
      format,
      params,
      status: ReportStatus.Queued,
      requestedBy: actor,
      error: null,
      byteSize: null,
      sha256: null,
      attempts: 0,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      expiresAt: new Date(now.getTime() + this.config.reports.retentionHours * 3_600_000),
    };
    await this.transactions.run(async (m) => {
      await this.reports.insert(m, report);
      await this.audit.append(m, [
        {
          actor,
          action: 'report.requested',
          subjectType: 'report',
          subjectId: report.id,
          after: { kind, format, params },
        },
      ]);
    });
    // After the commit: a job never names a report that does not exist. A lost enqueue is re-queued by the tick.
    await this.jobs
      .enqueue({ name: JobName.ReportRender, data: { reportId: report.id, attempt: 0 } })
      .catch((error: unknown) =>
        this.logger.warn(
          { reportId: report.id, kind, err: (error as Error).message },
          'report requested but its render job could not be queued; the report tick will queue it',
        ),
      );
    return viewOf(report);
  }

  /** A report for the worker, from the API's request body; a campaign pack needs an existing campaign. */
  async requestFrom(body: RequestReportDto, actor: string): Promise<ReportView> {
    if (body.kind === ReportKind.CampaignEvidence) {
      const campaignId = body.campaignId!;
      if (!(await this.campaigns.findById(campaignId))) throw DomainError.notFound('campaign', campaignId);
      return this.request(ReportKind.CampaignEvidence, ReportFormat.Jws, { campaignId }, actor);
    }
    const params: Record<string, string> = { ...(compactFilter(body.filter ?? {}) as Record<string, string>) };
    if (body.section) params.section = body.section;
    return this.request(ReportKind.Estate, body.format ?? ReportFormat.Json, params, actor);
  }

  async get(id: string): Promise<ReportView> {
    return viewOf(await this.find(id));
  }

  /** The content of a ready report, streamed from its chunks. */
  async content(id: string): Promise<{ report: ReportView; body: Readable }> {
    const report = await this.find(id);
    if (report.status !== ReportStatus.Ready) {
      throw new DomainError(ErrorCode.ReportNotReady, `report ${id} is ${report.status}`, {
        status: report.status,
        error: report.error,
      });
    }
    return {
      report: viewOf(report),
      body: readReportChunks((reportId, seq) => this.reports.chunk(reportId, seq), id, Number(report.byteSize)),
    };
  }

  private async find(id: string): Promise<ReportEntity> {
    const report = await this.reports.findById(id);
    if (!report || report.expiresAt <= this.clock.now()) throw DomainError.notFound('report', id);
    return report;
  }
}
