import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EstateFailure, EstateSummary } from '@keyshift/features/reports/estate-summary';
import { ESTATE_PDF_LAYOUT, renderEstatePdfToBuffer } from '@keyshift/features/reports/pdf/estate-pdf';
import {
  axisLabels,
  type Box,
  evenlySpacedIndices,
  niceTicks,
  scaleLength,
  splitBar,
} from '@keyshift/features/reports/pdf/pdf-charts';
import { anEmptyEstateSummary, anEstateSummary } from '../support/estate-summary.fixture';

/**
 * The PDF is checked the way a reader meets it: poppler extracts its text and rasterises its
 * pages, and the tests read the pixels where the charts are (ESTATE_PDF_LAYOUT).
 */

const POPPLER_TOOLS = ['pdftotext', 'pdftoppm', 'pdfinfo'];
const A4_BOTTOM_MARGIN_PT = 841.89 - 48;

let workDir: string;

function requirePoppler(): void {
  const missing = POPPLER_TOOLS.filter((tool) => spawnSync(tool, ['-v']).error);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not found: install poppler-utils (apt-get install poppler-utils) to run the PDF report tests`,
    );
  }
}

interface Raster {
  width: number;
  height: number;
  rgb: Buffer;
}

interface Rendered {
  file: string;
  bytes: Buffer;
  /** `pdftotext -layout`, one entry per page. */
  pages: string[];
  text: string;
  pageCount: number;
}

let renders = 0;

async function render(summary: EstateSummary): Promise<Rendered> {
  const bytes = await renderEstatePdfToBuffer(summary);
  const file = join(workDir, `report-${++renders}.pdf`);
  writeFileSync(file, bytes);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  return { file, bytes, text, pages: text.split('\f').slice(0, -1), pageCount: pdfInfo(file).Pages as number };
}

function pdfInfo(file: string): Record<string, string | number> {
  const out = execFileSync('pdfinfo', ['-isodates', file], { encoding: 'utf8' });
  const entries = out.split('\n').map((line) => line.match(/^([^:]+):\s*(.*)$/)?.slice(1) ?? []);
  const info = Object.fromEntries(entries.filter((e) => e.length === 2));
  return { ...info, Pages: Number(info.Pages) };
}

/** Every page as PPM (P6), the format pdftoppm writes by default. */
function rasterise(file: string, dpi: number): Raster[] {
  const dir = mkdtempSync(join(workDir, 'pages-'));
  execFileSync('pdftoppm', ['-r', String(dpi), file, join(dir, 'page')]);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ppm'))
    .sort()
    .map((name) => parsePpm(readFileSync(join(dir, name))));
}

function parsePpm(data: Buffer): Raster {
  const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
  const fields: string[] = [];
  let at = 0;
  while (fields.length < 4) {
    while (isSpace(data[at])) at++;
    const start = at;
    while (!isSpace(data[at])) at++;
    fields.push(data.toString('latin1', start, at));
  }
  const [magic, width, height, maxValue] = fields;
  if (magic !== 'P6' || maxValue !== '255') throw new Error(`not an 8-bit PPM: ${fields.join(' ')}`);
  return { width: Number(width), height: Number(height), rgb: data.subarray(at + 1) };
}

function pixel(r: Raster, x: number, y: number): [number, number, number] {
  const o = (y * r.width + x) * 3;
  return [r.rgb[o], r.rgb[o + 1], r.rgb[o + 2]];
}

const isInk = ([r, g, b]: number[]) => Math.min(r, g, b) < 240;
const isDark = ([r, g, b]: number[]) => Math.min(r, g, b) < 200;
const isRed = ([r, g, b]: number[]) => r > 150 && g < 90 && b < 90;
const isAmber = ([r, g, b]: number[]) => r > 180 && g > 100 && g < 170 && b < 60;

/** Pixel rows and columns of a box given in points. */
function pixels(box: Box, dpi: number) {
  const s = dpi / 72;
  return {
    x0: Math.round(box.x * s),
    x1: Math.round((box.x + box.width) * s),
    y0: Math.round(box.y * s),
    y1: Math.round((box.y + box.height) * s),
  };
}

function share(r: Raster, box: Box, dpi: number, test: (rgb: number[]) => boolean): number {
  const { x0, x1, y0, y1 } = pixels(box, dpi);
  let hits = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (test(pixel(r, x, y))) hits++;
  return hits / ((x1 - x0) * (y1 - y0));
}

/** Lengths (px) of the funnel's bars: dark runs from where bars start, grouped by consecutive rows. */
function funnelBarLengths(r: Raster, dpi: number): number[] {
  const { box, labelWidth } = ESTATE_PDF_LAYOUT.funnel;
  const { y0, y1 } = pixels(box, dpi);
  const start = Math.ceil(((box.x + labelWidth) * dpi) / 72) + 1;
  const bars: number[] = [];
  let inBar = false;
  for (let y = y0; y < y1; y++) {
    let run = 0;
    while (start + run < r.width && isDark(pixel(r, start + run, y))) run++;
    if (run > 2 && !inBar) bars.push(0);
    if (run > 2) bars[bars.length - 1] = Math.max(bars[bars.length - 1], run);
    inBar = run > 2;
  }
  return bars;
}

const squash = (text: string) => text.replace(/\s+/g, ' ');
const n = (value: number) => value.toLocaleString('en-US');
const phaseLabel = (phase: string) => phase.charAt(0).toUpperCase() + phase.slice(1).replace(/_/g, ' ');

describe('estate PDF report', () => {
  beforeAll(() => {
    requirePoppler();
    workDir = mkdtempSync(join(tmpdir(), 'keyshift-estate-pdf-'));
  });
  afterAll(() => workDir && rmSync(workDir, { recursive: true, force: true }));

  describe('of a realistic estate', () => {
    const summary = anEstateSummary();
    let report: Rendered;

    beforeAll(async () => {
      report = await render(summary);
    });

    it('states the totals, each phase with its count, the failures, every control and that it is no compliance claim', () => {
      const t = summary.totals;
      // Tiles, four to a row, read left to right.
      expect(report.text).toMatch(
        new RegExp([t.clients, t.onSharedSecret, t.secretsRevoked, t.keyAuthenticated].map(n).join('\\s+')),
      );
      expect(report.text).toMatch(
        new RegExp([t.senderConstrained, t.completed, t.failed + t.blocked, t.keysPastRotation].map(n).join('\\s+')),
      );
      for (const { phase, count } of summary.phases) {
        expect(report.pages[0]).toMatch(new RegExp(`${phaseLabel(phase)}\\s+${n(count)}`));
      }
      expect(report.text).toContain(summary.failures[4].clientId);
      expect(report.text).toContain(
        `${summary.failuresTotal - summary.failures.length} more: see the CSV report (GET /v1/reports/estate?format=csv)`,
      );
      for (const control of summary.controls) expect(report.text).toContain(control.reference);
      expect(squash(report.text)).toContain(
        "This table says what Keyshift's recorded evidence shows for each control. It is not a statement or certification of compliance",
      );
      expect(report.text).toContain('Scope: whole estate');
      expect(report.text).toContain('Generated 2025-06-02 06:00 UTC');
      report.pages.forEach((page, i) => expect(page).toContain(`page ${i + 1} of ${report.pageCount}`));
    });

    it('renders every page, and each chart region holds a chart', () => {
      const dpi = 50;
      const pages = rasterise(report.file, dpi);
      expect(pages).toHaveLength(report.pageCount);
      expect(report.pageCount).toBeGreaterThanOrEqual(3);
      for (const { page, box } of Object.values(ESTATE_PDF_LAYOUT)) {
        expect(share(pages[page - 1], box, dpi, isInk)).toBeGreaterThan(0.15);
      }
    });

    it('draws the funnel bars in proportion to the phase counts, failed and blocked in red and amber', () => {
      const dpi = 100;
      const [page1] = rasterise(report.file, dpi);
      const lengths = funnelBarLengths(page1, dpi);
      const counts = summary.phases.map((p) => p.count);
      expect(lengths).toHaveLength(counts.length);
      const longest = Math.max(...lengths);
      lengths.forEach((length, i) => expect(length / longest).toBeCloseTo(counts[i] / Math.max(...counts), 1));
      expect(longest).toBeGreaterThan(2 * Math.min(...lengths));
      const { box } = ESTATE_PDF_LAYOUT.funnel;
      expect(share(page1, box, dpi, isRed)).toBeGreaterThan(0);
      expect(share(page1, box, dpi, isAmber)).toBeGreaterThan(0);
    });

    it('is the same bytes for the same summary, with its metadata', async () => {
      const again = await render(summary);
      expect(again.bytes.equals(report.bytes)).toBe(true);
      expect(pdfInfo(report.file)).toMatchObject({
        Title: 'Keyshift estate report',
        Author: 'Keyshift',
        CreationDate: expect.stringMatching(/^2025-06-02T06:00:00(Z|\+00)/),
        'Page size': expect.stringContaining('(A4)'),
      });
    });

    it('names the filters in the scope line', async () => {
      const filtered = await render(anEstateSummary({ filter: { owner: 'team-payments', phase: 'cutover' } }));
      expect(filtered.text).toContain('Scope: owner team-payments, phase Cutover');
    });

    it('states the last full verification of the audit chain: its events, or the first broken event and why', async () => {
      expect(squash(report.text)).toContain(
        'Audit chain. The last full verification of the audit chain (scheduled, 2025-06-02T03:00:00.000Z) found no break in 1204311 events',
      );
      const broken = await render(
        anEstateSummary({
          auditVerification: {
            ...summary.auditVerification!,
            ok: false,
            eventsChecked: 4_411,
            firstBreak: {
              seq: '4412',
              problem: 'hash_mismatch',
              message: 'event 4412 was altered after it was written',
            },
          },
        }),
      );
      expect(squash(broken.text)).toContain(
        'found a break at event 4412 (hash_mismatch: event 4412 was altered after it was written) after 4411 events verified',
      );
      const forged = await render(
        anEstateSummary({ auditVerification: { ...summary.auditVerification!, sealed: false } }),
      );
      expect(squash(forged.text)).toContain("does not carry Keyshift's seal");
    });
  });

  describe('of an empty estate', () => {
    it('renders, says "No data" where charts would be, and prints no NaN, undefined or Infinity', async () => {
      const empty = await render(anEmptyEstateSummary());
      expect(empty.text.match(/No data/g)?.length).toBe(4);
      expect(empty.text).toContain('No client is failed or blocked.');
      expect(empty.text).not.toMatch(/NaN|undefined|Infinity/);
      const dpi = 50;
      const pages = rasterise(empty.file, dpi);
      expect(pages).toHaveLength(empty.pageCount);
      for (const { page, box } of Object.values(ESTATE_PDF_LAYOUT)) {
        expect(share(pages[page - 1], box, dpi, isInk)).toBeLessThan(0.02);
      }
    });
  });

  describe('tables and large numbers', () => {
    const failures: EstateFailure[] = Array.from({ length: 80 }, (_, i) => ({
      id: `0196f1e2-4c5a-7d10-8a3b-${String(i).padStart(12, '0')}`,
      clientId: `svc-${String(i + 1).padStart(3, '0')}`,
      phase: 'parallel_auth',
      state: i % 3 ? 'failed' : 'blocked',
      reason: 'Key token request rejected: invalid_client. '.repeat(1 + (i % 4)),
      since: new Date(Date.UTC(2025, 3, 1) + i * 3_600_000).toISOString(),
    }));

    it('paginates a long failures table with its header on each page, every row once, none past the margin', async () => {
      const short = await render(anEstateSummary());
      const long = await render(anEstateSummary({ failures, failuresTotal: 95 }));
      expect(long.pageCount).toBeGreaterThan(short.pageCount + 1);
      for (const f of failures) expect(long.text.match(new RegExp(`\\b${f.clientId}\\b`, 'g'))).toHaveLength(1);
      const withRows = long.pages.filter((page) => /\bsvc-\d{3}\b/.test(page));
      expect(withRows.length).toBeGreaterThan(2);
      for (const page of withRows) expect(page).toMatch(/Client ID\s+Phase\s+State\s+Reason\s+Since/);
      expect(long.text).toContain('15 more: see the CSV report');

      const dpi = 50;
      const belowMargin = { x: 0, y: A4_BOTTOM_MARGIN_PT + 1, width: 595, height: 6 };
      for (const page of rasterise(long.file, dpi)) expect(share(page, belowMargin, dpi, isInk)).toBe(0);
    });

    it('fits six-figure totals and axis labels', async () => {
      const large = await render(timesTen(anEstateSummary()));
      expect(large.text).toMatch(/102,640\s+72,900\s+29,740\s+35,460/);
      expect(large.pages[1]).toMatch(/125k/);
      expect(large.pages[0]).not.toContain('…');
    });
  });
});

describe('chart helpers', () => {
  it.each([
    [0, [0, 1]],
    [3, [0, 1, 2, 3]],
    [7, [0, 2, 4, 6, 8]],
    [10_264, [0, 2500, 5000, 7500, 10_000, 12_500]],
    [100_000, [0, 20_000, 40_000, 60_000, 80_000, 100_000]],
  ])('nice ticks up to %d: %j', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });

  it('labels an axis in one unit', () => {
    expect(axisLabels([0, 2500, 5000])).toEqual(['0', '2,500', '5,000']);
    expect(axisLabels([0, 25_000, 50_000, 125_000])).toEqual(['0', '25k', '50k', '125k']);
    expect(axisLabels([0, 1_500_000, 3_000_000])).toEqual(['0', '1.5M', '3M']);
  });

  it('scales without dividing by zero and keeps non-zero values visible', () => {
    expect(scaleLength(5, 0, 100)).toBe(0);
    expect(scaleLength(0, 10, 100)).toBe(0);
    expect(scaleLength(5, 10, 100)).toBe(50);
    expect(scaleLength(1, 100_000, 100)).toBe(1);
    expect(splitBar(100, 50, [5, 10])).toEqual([70, 10, 20]);
    expect(splitBar(0, 0, [0, 0])).toEqual([0, 0, 0]);
    expect(evenlySpacedIndices(90, 6)).toEqual([0, 18, 36, 53, 71, 89]);
    expect(evenlySpacedIndices(1, 6)).toEqual([0]);
    expect(evenlySpacedIndices(0, 6)).toEqual([]);
  });
});

/** Every count ten times over: an estate of about 100,000 clients. */
function timesTen(s: EstateSummary): EstateSummary {
  const times = (record: Record<string, number>) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v * 10]));
  return {
    ...s,
    totals: times(s.totals) as EstateSummary['totals'],
    phases: s.phases.map((p) => ({ ...p, count: p.count * 10, byState: times(p.byState) })),
    secretAges: s.secretAges.map((b) => ({ ...b, count: b.count * 10 })),
    keyAges: s.keyAges.map((b) => ({ ...b, count: b.count * 10 })),
    secretsRemaining: s.secretsRemaining.map((p) => ({ ...p, remaining: p.remaining * 10 })),
  };
}
