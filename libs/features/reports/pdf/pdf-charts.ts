/**
 * Chart primitives for the PDF reports, drawn with pdfkit's vector operations.
 *
 * Hand-drawn rather than a chart library: the well-kept server-side chart libraries either need a
 * native canvas (chartjs-node-canvas, through node-canvas) or are ESM-only (vega 6), which this
 * project's Jest on Node 20 cannot load. Three chart shapes on pdfkit's vector API come to ~150 lines.
 *
 * Every drawing function stays inside the box it is given. The pure helpers (ticks, scaling,
 * number formats) are exported for unit tests.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One accent; red and amber only for failed and blocked. */
export const PALETTE = {
  ink: '#1f2933',
  muted: '#5f6b7a',
  accent: '#2458a6',
  accentTint: '#d3dff1',
  failed: '#c62828',
  blocked: '#d98200',
  grid: '#e3e7ed',
  axis: '#9aa5b1',
  panel: '#f3f5f8',
  stripe: '#f8f9fb',
} as const;

export const FONT = 'Helvetica';
export const FONT_BOLD = 'Helvetica-Bold';
const LABEL_SIZE = 7.5;
const GAP = 6;

export interface TextRun {
  text: string;
  colour: string;
}

const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `12,345`: thousands separated, so six-figure counts stay readable. */
export function formatCount(n: number): string {
  return counts.format(n);
}

/**
 * Round tick values from 0 to at least `max`: steps of 1, 2, 2.5 or 5 times a power of ten, whole
 * numbers only (they count clients). An axis with nothing on it still spans 0 to 1.
 */
export function niceTicks(max: number, targetCount = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / targetCount;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10]
    .map((m) => m * magnitude)
    .filter((s) => Number.isInteger(s))
    .find((s) => s >= raw);
  const whole = Math.max(1, step ?? 10 * magnitude);
  return Array.from({ length: Math.ceil(max / whole) + 1 }, (_, i) => i * whole);
}

/** Tick labels in one unit per axis: `0 2,500 5,000` below ten thousand, `0 25k 50k` or `0 1.5M 3M` above. */
export function axisLabels(ticks: readonly number[]): string[] {
  const top = Math.max(0, ...ticks);
  const [divisor, suffix] = top >= 1e6 ? [1e6, 'M'] : top >= 1e4 ? [1e3, 'k'] : [1, ''];
  return ticks.map((t) => `${formatCount(t / divisor)}${t === 0 ? '' : suffix}`);
}

/** `value` as a share of `length` against `max`; 0 when there is nothing to scale by. Non-zero values stay visible. */
export function scaleLength(value: number, max: number, length: number, minVisible = 1): number {
  if (!(max > 0) || !(value > 0) || !(length > 0)) return 0;
  return Math.min(length, Math.max(minVisible, (Math.min(value, max) / max) * length));
}

/**
 * Splits a bar of `length` showing `value` into its remainder followed by `parts` (each a share of
 * `value`); the lengths always add up to `length`, and non-zero parts stay visible.
 */
export function splitBar(length: number, value: number, parts: readonly number[]): number[] {
  const partLengths = parts.map((p) => scaleLength(p, value, length));
  const used = partLengths.reduce((a, b) => a + b, 0);
  const shrink = used > length ? length / used : 1;
  const fitted = partLengths.map((p) => p * shrink);
  return [length - fitted.reduce((a, b) => a + b, 0), ...fitted];
}

/** Up to `maxTicks` indices spread evenly over `count` points, first and last included. */
export function evenlySpacedIndices(count: number, maxTicks: number): number[] {
  if (count <= 0) return [];
  const ticks = Math.min(count, Math.max(1, maxTicks));
  if (ticks === 1) return [0];
  return [...new Set(Array.from({ length: ticks }, (_, i) => Math.round((i * (count - 1)) / (ticks - 1))))];
}

/** `text` shortened with an ellipsis to fit `width` in the current font. */
export function fitText(doc: PDFKit.PDFDocument, text: string, width: number): string {
  if (doc.widthOfString(text) <= width) return text;
  let fitted = text;
  while (fitted && doc.widthOfString(`${fitted}…`) > width) fitted = fitted.slice(0, -1);
  return `${fitted.trimEnd()}…`;
}

/** One line at an anchor, never wrapped (so pdfkit never starts a page for it). */
export function textAt(
  doc: PDFKit.PDFDocument,
  text: string,
  x: number,
  y: number,
  align: 'left' | 'center' | 'right' = 'left',
): void {
  const width = doc.widthOfString(text);
  const left = align === 'left' ? x : align === 'right' ? x - width : x - width / 2;
  doc.text(text, left, y, { lineBreak: false });
}

function drawRuns(doc: PDFKit.PDFDocument, runs: readonly TextRun[], x: number, y: number): void {
  let left = x;
  for (const run of runs) {
    doc.fillColor(run.colour);
    textAt(doc, run.text, left, y);
    left += doc.widthOfString(run.text) + doc.widthOfString('  ');
  }
}

function runsWidth(doc: PDFKit.PDFDocument, runs: readonly TextRun[]): number {
  return runs.reduce((w, run, i) => w + doc.widthOfString(run.text) + (i ? doc.widthOfString('  ') : 0), 0);
}

function hasData(values: readonly number[]): boolean {
  return values.some((v) => v > 0);
}

export function drawNoData(doc: PDFKit.PDFDocument, box: Box, message = 'No data'): void {
  doc.save().lineWidth(0.75).dash(3, { space: 3 }).roundedRect(box.x, box.y, box.width, box.height, 4);
  doc.stroke(PALETTE.grid).undash().restore();
  doc.font(FONT).fontSize(9).fillColor(PALETTE.muted);
  textAt(doc, message, box.x + box.width / 2, box.y + box.height / 2 - 5, 'center');
}

export function drawLegend(doc: PDFKit.PDFDocument, x: number, y: number, items: readonly TextRun[]): void {
  doc.font(FONT).fontSize(LABEL_SIZE);
  let left = x;
  for (const item of items) {
    doc.rect(left, y + 0.5, 7, 7).fill(item.colour);
    doc.fillColor(PALETTE.muted);
    textAt(doc, item.text, left + 10, y);
    left += 10 + doc.widthOfString(item.text) + 14;
  }
}

export interface HorizontalBar {
  label: string;
  value: number;
  /** Parts of `value` drawn in their own colour at the end of the bar (e.g. failed, blocked). */
  segments?: { value: number; colour: string }[];
  /** Shown after the value, e.g. `12 failed` in red. */
  notes?: TextRun[];
}

/** One row per bar: label, bar (lengths proportional to the largest value), value and notes. */
export function drawHorizontalBars(
  doc: PDFKit.PDFDocument,
  box: Box,
  bars: readonly HorizontalBar[],
  labelWidth: number,
): void {
  if (!hasData(bars.map((b) => b.value))) return drawNoData(doc, box);
  doc.font(FONT).fontSize(8);
  const annotations = bars.map((bar) => [{ text: formatCount(bar.value), colour: PALETTE.ink }, ...(bar.notes ?? [])]);
  const annotationWidth = Math.max(...annotations.map((runs) => runsWidth(doc, runs)));
  const barX = box.x + labelWidth;
  const maxLength = Math.max(0, box.width - labelWidth - GAP - annotationWidth);
  const max = Math.max(...bars.map((b) => b.value));
  const rowHeight = box.height / bars.length;
  const barHeight = Math.min(16, rowHeight * 0.62);
  bars.forEach((bar, i) => {
    const middle = box.y + rowHeight * (i + 0.5);
    const textY = middle - doc.currentLineHeight() / 2;
    doc.font(FONT).fontSize(8.5).fillColor(PALETTE.ink);
    textAt(doc, fitText(doc, bar.label, labelWidth - GAP - 2), box.x, middle - doc.currentLineHeight() / 2);
    const length = scaleLength(bar.value, max, maxLength);
    const segments = bar.segments ?? [];
    const lengths = splitBar(
      length,
      bar.value,
      segments.map((s) => s.value),
    );
    const colours = [PALETTE.accent, ...segments.map((s) => s.colour)];
    let left = barX;
    lengths.forEach((l, j) => {
      if (l > 0) doc.rect(left, middle - barHeight / 2, l, barHeight).fill(colours[j]);
      left += l;
    });
    doc.font(FONT).fontSize(8);
    drawRuns(doc, annotations[i], barX + length + GAP, textY);
  });
}

/** Horizontal gridlines with their labels left of `plot`; returns the value at the top of the axis. */
function drawValueAxis(doc: PDFKit.PDFDocument, plot: Box, ticks: readonly number[]): number {
  const labels = axisLabels(ticks);
  const top = ticks[ticks.length - 1];
  doc.font(FONT).fontSize(LABEL_SIZE).lineWidth(0.5);
  ticks.forEach((tick, i) => {
    const y = plot.y + plot.height - (plot.height * tick) / top;
    doc
      .moveTo(plot.x, y)
      .lineTo(plot.x + plot.width, y)
      .stroke(i === 0 ? PALETTE.axis : PALETTE.grid);
    doc.fillColor(PALETTE.muted);
    textAt(doc, labels[i], plot.x - 5, y - doc.currentLineHeight() / 2, 'right');
  });
  return top;
}

function valueAxisWidth(doc: PDFKit.PDFDocument, ticks: readonly number[]): number {
  doc.font(FONT).fontSize(LABEL_SIZE);
  return Math.max(...axisLabels(ticks).map((l) => doc.widthOfString(l))) + 8;
}

/** Columns over category labels (up to two lines each), value axis on the left, count above each column. */
export function drawVerticalBars(
  doc: PDFKit.PDFDocument,
  box: Box,
  bars: readonly { label: string; value: number }[],
): void {
  if (!hasData(bars.map((b) => b.value))) return drawNoData(doc, box);
  const ticks = niceTicks(Math.max(...bars.map((b) => b.value)));
  const axisWidth = valueAxisWidth(doc, ticks);
  const lineHeight = doc.currentLineHeight();
  const headroom = lineHeight + 4;
  const plot = {
    x: box.x + axisWidth,
    y: box.y + headroom,
    width: box.width - axisWidth,
    height: box.height - headroom - (2 * lineHeight + 6),
  };
  const top = drawValueAxis(doc, plot, ticks);
  const slot = plot.width / bars.length;
  const barWidth = Math.min(slot * 0.62, 56);
  const bottom = plot.y + plot.height;
  bars.forEach((bar, i) => {
    const centre = plot.x + slot * (i + 0.5);
    const height = scaleLength(bar.value, top, plot.height);
    if (height > 0) doc.rect(centre - barWidth / 2, bottom - height, barWidth, height).fill(PALETTE.accent);
    doc.font(FONT).fontSize(LABEL_SIZE).fillColor(PALETTE.ink);
    textAt(doc, formatCount(bar.value), centre, bottom - height - lineHeight - 1, 'center');
    doc.fillColor(PALETTE.muted);
    doc.text(bar.label, plot.x + slot * i + 2, bottom + 5, {
      width: slot - 4,
      height: 2 * lineHeight + 0.5,
      align: 'center',
      ellipsis: true,
    });
  });
}

/**
 * A filled line over evenly spaced points (one per day), value axis on the left, a few point labels
 * (dates) underneath and the last value marked.
 */
export function drawAreaChart(
  doc: PDFKit.PDFDocument,
  box: Box,
  points: readonly { label: string; value: number }[],
): void {
  if (points.length === 0) return drawNoData(doc, box);
  const ticks = niceTicks(Math.max(...points.map((p) => p.value)));
  const axisWidth = valueAxisWidth(doc, ticks);
  const lineHeight = doc.currentLineHeight();
  const plot = {
    x: box.x + axisWidth,
    y: box.y + lineHeight + 4,
    width: box.width - axisWidth - GAP,
    height: box.height - 2 * lineHeight - 10,
  };
  const top = drawValueAxis(doc, plot, ticks);
  const bottom = plot.y + plot.height;
  const xs = points.map((_, i) =>
    points.length === 1 ? plot.x + plot.width / 2 : plot.x + (plot.width * i) / (points.length - 1),
  );
  const ys = points.map((p) => bottom - scaleLength(p.value, top, plot.height, 0));
  if (points.length > 1) {
    doc.moveTo(xs[0], bottom);
    xs.forEach((x, i) => doc.lineTo(x, ys[i]));
    doc
      .lineTo(xs[xs.length - 1], bottom)
      .closePath()
      .fill(PALETTE.accentTint);
    doc.moveTo(xs[0], ys[0]);
    xs.forEach((x, i) => doc.lineTo(x, ys[i]));
    doc.lineWidth(1.5).lineJoin('round').stroke(PALETTE.accent);
  }
  const last = points.length - 1;
  doc.circle(xs[last], ys[last], 2.5).fill(PALETTE.accent);
  doc.font(FONT_BOLD).fontSize(LABEL_SIZE).fillColor(PALETTE.ink);
  textAt(doc, formatCount(points[last].value), xs[last], ys[last] - lineHeight - 3, 'right');
  doc.font(FONT).fillColor(PALETTE.muted).lineWidth(0.5);
  for (const i of evenlySpacedIndices(points.length, 6)) {
    doc
      .moveTo(xs[i], bottom)
      .lineTo(xs[i], bottom + 3)
      .stroke(PALETTE.axis);
    const half = doc.widthOfString(points[i].label) / 2;
    const centre = Math.min(Math.max(xs[i], box.x + axisWidth + half), box.x + box.width - half);
    textAt(doc, points[i].label, centre, bottom + 5, 'center');
  }
}
