import { stringify } from 'csv-stringify/sync';
import { csvRecordOf, ESTATE_CSV_COLUMNS, EstateRow } from './estate-rows';
import { EstateSummary } from './estate-summary';

/** Rows are encoded this many at a time: one write per batch instead of one per client. */
const BATCH = 250;

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with a quote
 * (OWASP "CSV injection"): reasons and error descriptions come from authorization servers.
 */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const CSV_OPTIONS = {
  columns: [...ESTATE_CSV_COLUMNS],
  cast: { string: neutraliseCell, boolean: (b: boolean) => (b ? 'true' : 'false') },
};

/** The client table as CSV (RFC 4180, header first), a batch of rows per chunk. */
export async function* estateCsv(rows: AsyncIterable<EstateRow>): AsyncGenerator<string> {
  yield stringify([], { ...CSV_OPTIONS, header: true });
  let batch: ReturnType<typeof csvRecordOf>[] = [];
  for await (const row of rows) {
    batch.push(csvRecordOf(row));
    if (batch.length === BATCH) {
      yield stringify(batch, CSV_OPTIONS);
      batch = [];
    }
  }
  if (batch.length) yield stringify(batch, CSV_OPTIONS);
}

/** The summary as CSV: one `section,label,value` row per figure. */
export function summaryCsv(s: EstateSummary): string {
  const rows: [string, string, string | number][] = [
    ['report', 'generated_at', s.generatedAt],
    ...Object.entries(s.filter).map(([k, v]) => ['filter', k, String(v)] as [string, string, string]),
    ...Object.entries(s.totals).map(([k, v]) => ['totals', k, v] as [string, string, number]),
    ...s.phases.map((p) => ['phase', p.phase, p.count] as [string, string, number]),
    ...s.secretAges.map((b) => ['secret_age', b.label, b.count] as [string, string, number]),
    ...s.keyAges.map((b) => ['key_age', b.label, b.count] as [string, string, number]),
    ...s.secretsRemaining.map((d) => ['secrets_remaining', d.date, d.remaining] as [string, string, number]),
    ...auditVerificationRows(s.auditVerification),
    ...s.controls.map((c) => ['control', `${c.framework} ${c.reference}`, c.observation] as [string, string, string]),
  ];
  return stringify(rows, { header: true, columns: ['section', 'label', 'value'], cast: { string: neutraliseCell } });
}

/** The newest full verification of the audit chain: when, who asked, its outcome, and whether its record is sealed. */
function auditVerificationRows(v: EstateSummary['auditVerification']): [string, string, string | number][] {
  if (!v) return [['audit_verification', 'ran', 'never']];
  return [
    ['audit_verification', 'at', v.at],
    ['audit_verification', 'trigger', v.trigger],
    ['audit_verification', 'ok', v.sealed ? String(v.ok) : 'unknown (record not sealed)'],
    ['audit_verification', 'events_checked', v.eventsChecked],
    ['audit_verification', 'tip_seq', v.tipSeq],
    ['audit_verification', 'first_break_seq', v.firstBreak?.seq ?? ''],
    ['audit_verification', 'first_break_problem', v.firstBreak?.problem ?? ''],
    ['audit_verification', 'first_break_message', v.firstBreak?.message ?? ''],
    ['audit_verification', 'sealed', String(v.sealed)],
  ];
}

/** `{"summary": …, "clients": [ … ]}`, streamed: the summary first, then the rows a batch at a time. */
export async function* estateJson(summary: EstateSummary, rows: AsyncIterable<EstateRow>): AsyncGenerator<string> {
  yield `{"summary":${JSON.stringify(summary)},"clients":[`;
  let batch: string[] = [];
  let first = true;
  for await (const row of rows) {
    batch.push(JSON.stringify(row));
    if (batch.length === BATCH) {
      yield (first ? '' : ',') + batch.join(',');
      first = false;
      batch = [];
    }
  }
  if (batch.length) yield (first ? '' : ',') + batch.join(',');
  yield ']}';
}
