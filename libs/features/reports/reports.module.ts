import { Module } from '@nestjs/common';
import { SigningModule } from '../signing/signing.module';
import { EstateReports } from './estate-reports.service';
import { EvidencePacks } from './evidence/evidence-packs.service';
import { RenderReportHandler } from './render-report.handler';
import { ReportRuns } from './report-runs.service';
import { ReportTickHandler } from './report-tick.handler';

const REPORT_SERVICES = [EstateReports, EvidencePacks, ReportRuns, RenderReportHandler, ReportTickHandler];

/** Estate reports, evidence packs and the reports the worker produces. Used by the API and the worker. */
@Module({
  imports: [SigningModule],
  providers: REPORT_SERVICES,
  exports: REPORT_SERVICES,
})
export class ReportsModule {}
