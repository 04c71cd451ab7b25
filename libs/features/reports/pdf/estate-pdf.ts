/**
 * The estate report as a PDF for compliance reviewers: totals and the phase funnel (page 1), the
 * trends (page 2), then failures and the controls mapping as tables that paginate. Standard
 * Helvetica only, so rendering reads no font file and needs no network.
 */

import { buffer } from 'node:stream/consumers';
import PDFDocument from 'pdfkit';
import { requiredTags } from '../../ports/client-filter';
import type { ControlFinding, EstateFailure, EstateFilter, EstateSummary } from '../estate-summary';
import { auditVerificationLine } from '../estate-controls';
import {
  drawAreaChart,
  drawHorizontalBars,
  drawLegend,
  drawNoData,
  drawVerticalBars,
  fitText,
  FONT,
  FONT_BOLD,
  formatCount,
  type HorizontalBar,
  PALETTE,
  textAt,
} from './pdf-charts';

const TITLE = 'Keyshift estate report';
const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 48;
const CONTENT_WIDTH = A4.width - 2 * MARGIN;
const CONTENT_BOTTOM = A4.height - MARGIN;
const CSV_REPORT = 'GET /v1/reports/estate?format=csv';

/** States in the order a reader expects them; states the summary adds beyond these follow. */
const STATE_ORDER = ['pending', 'running', 'waiting', 'done', 'blocked', 'failed'];

/**
 * Where the charts sit: page (from 1) and box in points from the page's top left. Fixed, so the
 * pages look the same whatever the data, and tests can find the charts in a rendering.
 */
export const ESTATE_PDF_LAYOUT = {
  funnel: { page: 1, box: { x: MARGIN, y: 326, width: CONTENT_WIDTH, height: 196 }, labelWidth: 104 },
  secretsRemaining: { page: 2, box: { x: MARGIN, y: 90, width: CONTENT_WIDTH, height: 200 } },
  secretAges: { page: 2, box: { x: MARGIN, y: 360, width: CONTENT_WIDTH, height: 130 }, labelWidth: 104 },
  keyAges: { page: 2, box: { x: MARGIN, y: 560, width: CONTENT_WIDTH, height: 200 } },
} as const;

/**
 * Draws the whole report and ends the document; the caller pipes the returned stream where it goes.
 * "page X of Y" needs the page count, so pages stay buffered until the end: the PDF (tens of KB, the
 * failures table being capped by the summary) is produced in memory before the stream drains.
 */
export function renderEstatePdf(summary: EstateSummary): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    bufferPages: true,
    info: {
      Title: TITLE,
      Author: 'Keyshift',
      Subject: `Scope: ${scopeLine(summary.filter)}`,
      // Fixed dates also fix the file ID pdfkit derives from them: same summary, same bytes.
      CreationDate: new Date(summary.generatedAt),
    },
  });
  drawOverview(doc, summary);
  doc.addPage();
  drawTrends(doc, summary);
  doc.addPage();
  drawFailures(doc, summary);
  drawControls(doc, summary);
  drawFooters(doc, summary);
  doc.end();
  return doc;
}

export function renderEstatePdfToBuffer(summary: EstateSummary): Promise<Buffer> {
  return buffer(renderEstatePdf(summary));
}

function scopeLine(filter: EstateFilter): string {
  const tags = requiredTags(filter);
  const parts = [
    filter.authorizationServerId && `authorization server ${filter.authorizationServerId}`,
    filter.owner && `owner ${filter.owner}`,
    tags.length > 0 && `${tags.length > 1 ? 'tags' : 'tag'} ${tags.join(', ')}`,
    filter.phase && `phase ${humanise(filter.phase)}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'whole estate';
}

/** `secret_revocation` -> `Secret revocation`. */
function humanise(code: string): string {
  const words = code.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatUtc(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function shareOfClients(part: number, clients: number): string {
  return clients > 0 ? `${((100 * part) / clients).toFixed(1)}% of clients` : 'no clients in scope';
}

function heading(doc: PDFKit.PDFDocument, title: string, subtitle: string, y: number): void {
  doc.font(FONT_BOLD).fontSize(13).fillColor(PALETTE.ink);
  textAt(doc, title, MARGIN, y);
  doc.font(FONT).fontSize(9).fillColor(PALETTE.muted);
  textAt(doc, fitText(doc, subtitle, CONTENT_WIDTH), MARGIN, y + 18);
}

// Page 1

interface Tile {
  label: string;
  value: number;
  detail: string;
  colour: string;
}

function tiles(summary: EstateSummary): Tile[] {
  const t = summary.totals;
  const share = (label: string, value: number): Tile => ({
    label,
    value,
    detail: shareOfClients(value, t.clients),
    colour: PALETTE.ink,
  });
  const attention = t.failed + t.blocked;
  return [
    { label: 'Clients', value: t.clients, detail: 'in this report', colour: PALETTE.ink },
    share('On shared secret', t.onSharedSecret),
    share('Secrets revoked', t.secretsRevoked),
    share('Key-authenticated', t.keyAuthenticated),
    share('Sender-constrained', t.senderConstrained),
    share('Completed', t.completed),
    {
      label: 'Failed + blocked',
      value: attention,
      detail: `${formatCount(t.failed)} failed, ${formatCount(t.blocked)} blocked`,
      colour: attention > 0 ? PALETTE.failed : PALETTE.ink,
    },
    {
      label: 'Keys past rotation',
      value: t.keysPastRotation,
      detail: 'active keys older than policy',
      colour: t.keysPastRotation > 0 ? PALETTE.blocked : PALETTE.ink,
    },
  ];
}

function drawTiles(doc: PDFKit.PDFDocument, all: readonly Tile[], y: number): void {
  const perRow = 4;
  const gap = 10;
  const width = (CONTENT_WIDTH - gap * (perRow - 1)) / perRow;
  const height = 58;
  all.forEach((tile, i) => {
    const x = MARGIN + (i % perRow) * (width + gap);
    const top = y + Math.floor(i / perRow) * (height + gap);
    doc.roundedRect(x, top, width, height, 4).fill(PALETTE.panel);
    doc.font(FONT).fontSize(8).fillColor(PALETTE.muted);
    textAt(doc, tile.label, x + 10, top + 9);
    doc.font(FONT_BOLD).fontSize(19).fillColor(tile.colour);
    textAt(doc, fitText(doc, formatCount(tile.value), width - 20), x + 10, top + 21);
    doc.font(FONT).fontSize(7.5).fillColor(PALETTE.muted);
    textAt(doc, fitText(doc, tile.detail, width - 20), x + 10, top + 43);
  });
}

function funnelBars(summary: EstateSummary): HorizontalBar[] {
  return summary.phases.map(({ phase, count, byState }) => {
    const failed = byState.failed ?? 0;
    const blocked = byState.blocked ?? 0;
    return {
      label: humanise(phase),
      value: count,
      segments: [
        { value: failed, colour: PALETTE.failed },
        { value: blocked, colour: PALETTE.blocked },
      ],
      notes: [
        ...(failed > 0 ? [{ text: `${formatCount(failed)} failed`, colour: PALETTE.failed }] : []),
        ...(blocked > 0 ? [{ text: `${formatCount(blocked)} blocked`, colour: PALETTE.blocked }] : []),
      ],
    };
  });
}

function drawOverview(doc: PDFKit.PDFDocument, summary: EstateSummary): void {
  doc.font(FONT_BOLD).fontSize(22).fillColor(PALETTE.ink);
  textAt(doc, TITLE, MARGIN, MARGIN);
  doc.font(FONT).fontSize(10).fillColor(PALETTE.ink);
  textAt(doc, fitText(doc, `Scope: ${scopeLine(summary.filter)}`, CONTENT_WIDTH), MARGIN, 80);
  doc.fillColor(PALETTE.muted);
  textAt(doc, `Generated ${formatUtc(summary.generatedAt)}`, MARGIN, 95);
  doc
    .moveTo(MARGIN, 114)
    .lineTo(MARGIN + CONTENT_WIDTH, 114)
    .lineWidth(0.5)
    .stroke(PALETTE.grid);
  drawTiles(doc, tiles(summary), 126);

  const { box, labelWidth } = ESTATE_PDF_LAYOUT.funnel;
  heading(doc, 'Migration phase funnel', 'Clients now in each phase, in migration order.', 278);
  drawLegend(doc, MARGIN, 310, [
    { text: 'pending, running, waiting or done', colour: PALETTE.accent },
    { text: 'failed', colour: PALETTE.failed },
    { text: 'blocked', colour: PALETTE.blocked },
  ]);
  drawHorizontalBars(doc, box, funnelBars(summary), labelWidth);
  if (summary.phases.length > 0) drawStateTable(doc, summary, box.y + box.height + 26);
}

function drawStateTable(doc: PDFKit.PDFDocument, summary: EstateSummary, y: number): void {
  heading(doc, 'Phases by state', 'Exact counts behind the funnel.', y);
  const seen = new Set(summary.phases.flatMap((p) => Object.keys(p.byState)));
  const states = [...STATE_ORDER, ...[...seen].filter((s) => !STATE_ORDER.includes(s)).sort()];
  type Row = EstateSummary['phases'][number];
  const stateColumns: Column<Row>[] = states.map((state) => ({
    header: humanise(state),
    width: (CONTENT_WIDTH - 104 - 60) / states.length,
    align: 'right',
    cell: (row) => formatCount(row.byState[state] ?? 0),
    colour: (row) =>
      (row.byState[state] ?? 0) > 0 && (state === 'failed' || state === 'blocked') ? PALETTE[state] : PALETTE.ink,
  }));
  drawTable(
    doc,
    [
      { header: 'Phase', width: 104, cell: (row) => humanise(row.phase) },
      ...stateColumns,
      { header: 'Total', align: 'right', cell: (row) => formatCount(row.count) },
    ],
    summary.phases,
    y + 36,
    'Phases by state',
  );
}

// Page 2

function drawTrends(doc: PDFKit.PDFDocument, summary: EstateSummary): void {
  const layout = ESTATE_PDF_LAYOUT;
  const series = summary.secretsRemaining;
  heading(doc, 'Shared secrets remaining', secretsTrendLine(series), MARGIN);
  drawAreaChart(
    doc,
    layout.secretsRemaining.box,
    series.map((p) => ({ label: p.date, value: p.remaining })),
  );

  const secretsInUse = summary.secretAges.reduce((sum, b) => sum + b.count, 0);
  heading(
    doc,
    'Age of shared secrets still in use',
    `Age of each secret: since its issue date where the import gave one, else since Keyshift has known it (${formatCount(secretsInUse)} in all).`,
    layout.secretAges.box.y - 42,
  );
  drawHorizontalBars(
    doc,
    layout.secretAges.box,
    summary.secretAges.map((b) => ({ label: b.label, value: b.count })),
    layout.secretAges.labelWidth,
  );

  const past = summary.totals.keysPastRotation;
  heading(
    doc,
    'Age of active keys',
    past > 0
      ? `${formatCount(past)} active ${past === 1 ? 'key is' : 'keys are'} older than their rotation period.`
      : 'No active key is older than its rotation period.',
    layout.keyAges.box.y - 42,
  );
  drawVerticalBars(
    doc,
    layout.keyAges.box,
    summary.keyAges.map((b) => ({ label: b.label, value: b.count })),
  );
}

function secretsTrendLine(series: EstateSummary['secretsRemaining']): string {
  if (series.length === 0) return 'Clients holding a shared secret at the end of each day.';
  const first = series[0];
  const last = series[series.length - 1];
  const change = first.remaining > 0 ? ` (${(100 * (last.remaining / first.remaining - 1)).toFixed(0)}%)` : '';
  return (
    `Clients holding a shared secret at the end of each day: ${formatCount(first.remaining)} on ${first.date}, ` +
    `${formatCount(last.remaining)} on ${last.date}${change}.`
  );
}

// Page 3 on

function drawFailures(doc: PDFKit.PDFDocument, summary: EstateSummary): void {
  const { failures, failuresTotal } = summary;
  const listed =
    failures.length < failuresTotal
      ? `the oldest ${formatCount(failures.length)} are listed`
      : 'all are listed, oldest first';
  const subtitle =
    failuresTotal === 0
      ? 'No client is failed or blocked.'
      : `${formatCount(failuresTotal)} ${failuresTotal === 1 ? 'client needs' : 'clients need'} a person or a retry; ${listed}.`;
  heading(doc, 'Failures and blockers', subtitle, MARGIN);
  let y = MARGIN + 38;
  if (failures.length > 0) y = drawTable(doc, failureColumns(), failures, y, 'Failures and blockers');
  const more = failuresTotal - failures.length;
  if (more > 0) {
    y = ensureSpace(doc, y + 8, 14);
    doc.font(FONT).fontSize(9).fillColor(PALETTE.ink);
    textAt(doc, `${formatCount(more)} more: see the CSV report (${CSV_REPORT}).`, MARGIN, y);
    y += 14;
  }
  doc.y = y;
}

function failureColumns(): Column<EstateFailure>[] {
  return [
    { header: 'Client ID', width: 122, maxLines: 2, cell: (f) => f.clientId },
    { header: 'Phase', width: 80, maxLines: 1, cell: (f) => humanise(f.phase) },
    { header: 'State', width: 46, cell: (f) => humanise(f.state), colour: (f) => PALETTE[f.state] },
    { header: 'Reason', maxLines: 3, cell: (f) => f.reason ?? 'no reason recorded' },
    { header: 'Since', width: 64, cell: (f) => formatUtc(f.since).replace(' ', '\n') },
  ];
}

const CONTROLS_STATEMENT =
  "This table says what Keyshift's recorded evidence shows for each control. It is not a statement or " +
  'certification of compliance: whether a control is met is for your organisation and its assessors to decide.';

function drawControls(doc: PDFKit.PDFDocument, summary: EstateSummary): void {
  const pad = 8;
  doc.font(FONT).fontSize(9);
  const textWidth = CONTENT_WIDTH - 3 * pad;
  const calloutHeight = doc.heightOfString(CONTROLS_STATEMENT, { width: textWidth }) + 2 * pad;
  // The audit log's own integrity, as the newest full verification found it (SOC 2 CC6.1 below cites it too).
  const auditLine = `Audit chain. ${auditVerificationLine(summary.auditVerification)}`;
  const auditHeight = doc.heightOfString(auditLine, { width: CONTENT_WIDTH }) + 10;
  // Heading, statement and the table's first rows stay together.
  const y = ensureSpace(doc, doc.y + 24, 38 + calloutHeight + auditHeight + 90);
  heading(doc, 'Controls mapping', 'What the evidence in this report shows, control by control.', y);
  const calloutY = y + 38;
  doc.rect(MARGIN, calloutY, CONTENT_WIDTH, calloutHeight).fill(PALETTE.panel);
  doc.rect(MARGIN, calloutY, 3, calloutHeight).fill(PALETTE.accent);
  doc.font(FONT).fontSize(9).fillColor(PALETTE.ink);
  doc.text(CONTROLS_STATEMENT, MARGIN + 2 * pad, calloutY + pad, { width: textWidth });
  const failed =
    summary.auditVerification !== null && !(summary.auditVerification.ok && summary.auditVerification.sealed);
  doc
    .font(FONT)
    .fontSize(9)
    .fillColor(failed ? PALETTE.failed : PALETTE.ink);
  doc.text(auditLine, MARGIN, calloutY + calloutHeight + 10, { width: CONTENT_WIDTH });
  const tableY = calloutY + calloutHeight + auditHeight + 12;
  if (summary.controls.length === 0) {
    drawNoData(doc, { x: MARGIN, y: tableY, width: CONTENT_WIDTH, height: 40 }, 'No control findings');
    return;
  }
  drawTable(doc, controlColumns(), summary.controls, tableY, 'Controls mapping');
}

function controlColumns(): Column<ControlFinding>[] {
  return [
    { header: 'Framework', width: 58, cell: (c) => c.framework },
    { header: 'Reference', width: 56, cell: (c) => c.reference },
    { header: 'Topic', width: 86, cell: (c) => c.topic },
    { header: 'Observation', cell: (c) => c.observation },
    { header: 'Evidence', width: 120, cell: (c) => c.evidence },
  ];
}

/** `y` if `height` fits below it on this page, else the top of a new page. */
function ensureSpace(doc: PDFKit.PDFDocument, y: number, height: number): number {
  if (y + height <= CONTENT_BOTTOM) return y;
  doc.addPage();
  return MARGIN;
}

// Tables

interface Column<T> {
  header: string;
  /** Points; the one column without a width takes what the others leave. */
  width?: number;
  cell: (row: T) => string;
  /** Longer text is cut with an ellipsis. */
  maxLines?: number;
  align?: 'left' | 'right';
  colour?: (row: T) => string;
}

const TABLE_FONT_SIZE = 8;
const PAD_X = 4;
const PAD_Y = 3.5;

/**
 * Rows wrap within their columns and never cross the bottom margin: a row that does not fit starts
 * a new page, under the header again. Returns the y below the last row.
 */
function drawTable<T>(
  doc: PDFKit.PDFDocument,
  columns: readonly Column<T>[],
  rows: readonly T[],
  y: number,
  caption: string,
): number {
  const fixed = columns.reduce((sum, c) => sum + (c.width ?? 0), 0);
  const widths = columns.map((c) => c.width ?? CONTENT_WIDTH - fixed);
  doc.font(FONT).fontSize(TABLE_FONT_SIZE);
  const lineHeight = doc.currentLineHeight(true);
  const headerHeight = lineHeight + 2 * PAD_Y;
  const continuedTop = MARGIN + 16;
  const tallestRow = CONTENT_BOTTOM - continuedTop - headerHeight;
  let top = ensureSpace(doc, y, headerHeight + lineHeight + 2 * PAD_Y);
  top = drawHeaderRow(doc, columns, widths, top, headerHeight);
  rows.forEach((row, i) => {
    doc.font(FONT).fontSize(TABLE_FONT_SIZE);
    const texts = columns.map((c) => c.cell(row));
    const heights = texts.map((text, j) => {
      const measured = Math.max(lineHeight, doc.heightOfString(text, { width: widths[j] - 2 * PAD_X }));
      const limit = (columns[j].maxLines ?? Infinity) * lineHeight;
      return Math.min(measured, limit, tallestRow - 2 * PAD_Y);
    });
    const height = Math.max(...heights) + 2 * PAD_Y;
    if (top + height > CONTENT_BOTTOM) {
      doc.addPage();
      doc.font(FONT).fontSize(9).fillColor(PALETTE.muted);
      textAt(doc, `${caption} (continued)`, MARGIN, MARGIN);
      top = drawHeaderRow(doc, columns, widths, continuedTop, headerHeight);
    }
    if (i % 2 === 1) doc.rect(MARGIN, top, CONTENT_WIDTH, height).fill(PALETTE.stripe);
    let x = MARGIN;
    columns.forEach((column, j) => {
      doc
        .font(FONT)
        .fontSize(TABLE_FONT_SIZE)
        .fillColor(column.colour?.(row) ?? PALETTE.ink);
      doc.text(texts[j], x + PAD_X, top + PAD_Y, {
        width: widths[j] - 2 * PAD_X,
        height: heights[j] + 0.5,
        ellipsis: true,
        align: column.align ?? 'left',
      });
      x += widths[j];
    });
    top += height;
    doc
      .moveTo(MARGIN, top)
      .lineTo(MARGIN + CONTENT_WIDTH, top)
      .lineWidth(0.4)
      .stroke(PALETTE.grid);
  });
  return top;
}

function drawHeaderRow<T>(
  doc: PDFKit.PDFDocument,
  columns: readonly Column<T>[],
  widths: readonly number[],
  y: number,
  height: number,
): number {
  doc.rect(MARGIN, y, CONTENT_WIDTH, height).fill(PALETTE.panel);
  doc.font(FONT_BOLD).fontSize(TABLE_FONT_SIZE).fillColor(PALETTE.ink);
  let x = MARGIN;
  columns.forEach((column, j) => {
    const text = fitText(doc, column.header, widths[j] - 2 * PAD_X);
    const right = column.align === 'right';
    textAt(doc, text, right ? x + widths[j] - PAD_X : x + PAD_X, y + PAD_Y, right ? 'right' : 'left');
    x += widths[j];
  });
  return y + height;
}

// Every page

function drawFooters(doc: PDFKit.PDFDocument, summary: EstateSummary): void {
  const { start, count } = doc.bufferedPageRange();
  const y = CONTENT_BOTTOM + 14;
  for (let i = 0; i < count; i++) {
    doc.switchToPage(start + i);
    doc
      .moveTo(MARGIN, y - 6)
      .lineTo(MARGIN + CONTENT_WIDTH, y - 6)
      .lineWidth(0.5)
      .stroke(PALETTE.grid);
    doc.font(FONT).fontSize(7.5).fillColor(PALETTE.muted);
    const page = `page ${i + 1} of ${count}`;
    textAt(doc, page, MARGIN + CONTENT_WIDTH, y, 'right');
    const about = `${TITLE} · ${scopeLine(summary.filter)} · generated ${formatUtc(summary.generatedAt)}`;
    textAt(doc, fitText(doc, about, CONTENT_WIDTH - doc.widthOfString(page) - 24), MARGIN, y);
  }
}
