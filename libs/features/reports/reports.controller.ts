import { Body, Controller, Get, Header, Post, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../api-tokens/auth.decorators';
import { actorOf, Principal } from '../api-tokens/principal';
import { EstateReports } from './estate-reports.service';
import { EvidencePacks } from './evidence/evidence-packs.service';
import { ReportFormat, ReportKind } from './report.entity';
import { CONTENT_TYPES } from './report-content-types';
import { ReportRuns, ReportView } from './report-runs.service';
import { EstateReportQueryDto, RequestReportDto } from './reports.dto';

/** A 202 for work the worker will do, with where to look. */
function accepted(reply: FastifyReply, report: ReportView): ReportView {
  reply.status(202).header('Location', `/v1/reports/${report.id}`);
  return report;
}

const download = (contentType: string, filename: string) => ({
  type: contentType,
  disposition: `attachment; filename="${filename}"`,
});

@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1')
export class ReportsController {
  constructor(
    private readonly estate: EstateReports,
    private readonly runs: ReportRuns,
    private readonly evidence: EvidencePacks,
  ) {}

  /** JSON and CSV stream at once from one snapshot; PDF is produced by the worker (202 + Location). */
  @Get('reports/estate')
  @ApiProduces('application/json', 'text/csv')
  async estateReport(
    @Query() q: EstateReportQueryDto,
    @CurrentPrincipal() by: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { format = ReportFormat.Json, section = 'clients', ...filter } = q;
    if (format === ReportFormat.Pdf)
      return accepted(reply, await this.runs.requestFrom({ kind: ReportKind.Estate, format, filter }, actorOf(by)));
    const out = await this.estate.export(filter, format, section, actorOf(by));
    reply.header('Cache-Control', 'no-store');
    return new StreamableFile(out.body, download(out.contentType, out.filename));
  }

  /** Any reader may ask for a report: it holds what they can already list, and the request is audited. */
  @Post('reports')
  async request(
    @Body() body: RequestReportDto,
    @CurrentPrincipal() by: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.runs.requestFrom(body, actorOf(by)));
  }

  @Get('reports/:id')
  report(@IdParam() id: string) {
    return this.runs.get(id);
  }

  @Get('reports/:id/content')
  async content(@IdParam() id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { report, body } = await this.runs.content(id);
    reply
      .header('Cache-Control', 'no-store')
      // RFC 9530: lets the downloader check the bytes against the digest the report row records.
      .header('Repr-Digest', `sha-256=:${Buffer.from(report.sha256!, 'hex').toString('base64')}:`);
    return new StreamableFile(
      body,
      download(CONTENT_TYPES[report.format], `keyshift-${report.kind}-${report.id}.${report.format}`),
    );
  }

  /**
   * The client's evidence pack: a compact JWS (application/jose), verifiable with /.well-known/jwks.json.
   * The content type is set once the pack exists: an error answers with the usual JSON body.
   */
  @Get('clients/:id/evidence')
  @ApiProduces('application/jose')
  @Header('Cache-Control', 'no-store')
  async clientEvidence(
    @IdParam() id: string,
    @CurrentPrincipal() by: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { jws } = await this.evidence.client(id, actorOf(by));
    reply.type('application/jose');
    return jws;
  }

  /** A campaign's evidence pack is produced by the worker: 202, then GET /v1/reports/{id}/content. */
  @Post('campaigns/:id/evidence')
  async campaignEvidence(
    @IdParam() id: string,
    @CurrentPrincipal() by: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(
      reply,
      await this.runs.requestFrom({ kind: ReportKind.CampaignEvidence, campaignId: id }, actorOf(by)),
    );
  }
}
