import { ReportFormat } from './report.entity';

/** The media type of each report format, for streamed and stored reports alike. */
export const CONTENT_TYPES: Record<ReportFormat, string> = {
  [ReportFormat.Csv]: 'text/csv; charset=utf-8',
  [ReportFormat.Json]: 'application/json',
  [ReportFormat.Pdf]: 'application/pdf',
  [ReportFormat.Jws]: 'application/jose',
};
