import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { ReadSnapshots } from '@keyshift/database';
import type QueryStream from 'pg-query-stream';
import { CONTENT_TYPES } from './report-content-types';
import { ReportFormat } from './report.entity';
import { AuditLog } from '../audit/audit-log.service';
import { AUDIT_KEYS, AuditKeys } from '../audit/audit-keys';
import { estateCsv, estateJson, summaryCsv } from './estate-encoders';
import { compactFilter } from './estate-filter';
import { EstateDbRow, estateRowOf, EstateRow } from './estate-rows';
import { EstateFilter, EstateSummary } from './estate-summary';
import { loadEstateSummary, streamEstateRows } from './estate-summary.repository';

/** Rows the database cursor hands over at a time: the API's memory holds at most this many. */
const CURSOR_BATCH = 250;

export type StreamedFormat = ReportFormat.Csv | ReportFormat.Json;

/**
 * Estate reports, read in one REPEATABLE READ READ ONLY snapshot so that the summary and every
 * row describe the same moment. Rows come through a server-side cursor (pg-query-stream), so memory
 * stays flat whatever the estate's size and a slow reader slows the cursor, not the API.
 */
@Injectable()
export class EstateReports {
  constructor(
    private readonly snapshots: ReadSnapshots,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(AUDIT_KEYS) private readonly auditKeys: AuditKeys,
  ) {}

  /**
   * A streamed CSV or JSON estate report, its export audited first (who took which part of the
   * inventory, and when). The body is a Readable whose destruction (client gone) closes the cursor.
   */
  async export(
    filter: EstateFilter,
    format: StreamedFormat,
    section: 'clients' | 'summary',
    actor: string,
  ): Promise<{ body: Readable; contentType: string; filename: string }> {
    const scope = compactFilter(filter);
    await this.audit.record([
      {
        actor,
        action: 'report.exported',
        subjectType: 'report',
        subjectId: 'estate',
        after: { format, section, filter: scope },
      },
    ]);
    const day = this.clock.now().toISOString().slice(0, 10);
    // The first chunk is read here, so a failure to open the snapshot or build the summary is an
    // ordinary error answer (through the API's filter), not a broken 200.
    const chunks = this.chunks(scope, format, section);
    const first = await chunks.next();
    const rest = async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    };
    return {
      // One chunk buffered ahead: chunks waiting on a slow socket would otherwise survive into the old generation.
      body: Readable.from(rest(), { highWaterMark: 1 }),
      contentType: CONTENT_TYPES[format],
      filename: `keyshift-estate${section === 'summary' ? '-summary' : ''}-${day}.${format}`,
    };
  }

  summary(filter: EstateFilter): Promise<EstateSummary> {
    return this.snapshots.run((runner) =>
      loadEstateSummary(runner, compactFilter(filter), this.clock.now(), this.auditKeys.seal),
    );
  }

  /**
   * The report as text chunks. Consumers must finish or `return()` the generator (Readable.from
   * does on destroy): that closes the cursor and gives the connection back.
   */
  async *chunks(filter: EstateFilter, format: StreamedFormat, section: 'clients' | 'summary'): AsyncGenerator<string> {
    const scope = compactFilter(filter);
    const snapshot = await this.snapshots.open();
    let rows: QueryStream | null = null;
    try {
      const now = this.clock.now();
      if (format === ReportFormat.Csv && section === 'summary') {
        yield summaryCsv(await loadEstateSummary(snapshot.runner, scope, now, this.auditKeys.seal));
        return;
      }
      const summary =
        format === ReportFormat.Json ? await loadEstateSummary(snapshot.runner, scope, now, this.auditKeys.seal) : null;
      rows = streamEstateRows(snapshot.client, scope, now, CURSOR_BATCH);
      const estateRows = mapRows(rows);
      yield* summary ? estateJson(summary, estateRows) : estateCsv(estateRows);
    } finally {
      rows?.destroy();
      await snapshot.close();
    }
  }
}

async function* mapRows(stream: AsyncIterable<unknown>): AsyncGenerator<EstateRow> {
  for await (const row of stream) yield estateRowOf(row as EstateDbRow);
}
