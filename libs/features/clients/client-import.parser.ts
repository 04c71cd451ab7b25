import { DomainError, ErrorCode } from '@keyshift/common';
import { parse } from 'csv-parse/sync';

/**
 * Turns an import body into rows shaped like POST /v1/clients bodies, numbered from 1. CSV headers
 * are the JSON field names, with `target.` prefixes for the nested target and `;` between tags.
 */
export const CSV_COLUMNS = [
  'authorizationServerId',
  'clientId',
  'authMethod',
  'clientSecret',
  'secretIssuedAt',
  'registrationAccessToken',
  'registrationClientUri',
  'target.authMethod',
  'target.senderConstraint',
  'target.strategy',
  'target.cutover',
  'owner',
  'tags',
] as const;

const REQUIRED_COLUMNS = [
  'authorizationServerId',
  'clientId',
  'authMethod',
  'clientSecret',
  'target.authMethod',
  'target.senderConstraint',
  'target.strategy',
];

export interface ImportRow {
  row: number;
  value: unknown;
  /** A problem found while parsing, before validation (e.g. a CSV line with the wrong column count). */
  parseError?: { field: string; message: string };
}

export function rowsFromJson(body: unknown, maxRows: number): ImportRow[] {
  if (!Array.isArray(body)) {
    throw DomainError.validation([{ field: 'body', message: 'must be a JSON array of clients (or send text/csv)' }]);
  }
  checkSize(body.length, maxRows);
  return body.map((value, i) => ({ row: i + 1, value }));
}

export function rowsFromCsv(text: string, maxRows: number): ImportRow[] {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (error) {
    const e = error as { lines?: number; message?: string };
    // csv-parse's message quotes no cell contents, only the position: safe to pass on.
    throw new DomainError(
      ErrorCode.MalformedBody,
      `CSV could not be parsed near line ${e.lines ?? '?'}: ${e.message ?? 'syntax error'}`,
      {
        field: 'body',
        line: e.lines,
      },
    );
  }
  if (records.length === 0)
    throw DomainError.validation([{ field: 'body', message: 'CSV is empty; expected a header row' }]);
  const [header, ...data] = records;
  // Unknown columns are named by position: a CSV sent without its header row makes a data row
  // (secrets included) the header, and its cells must not come back in the error.
  const unknown = header
    .map((h, i) => ({ h, column: i + 1 }))
    .filter(({ h }) => !(CSV_COLUMNS as readonly string[]).includes(h));
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (unknown.length || missing.length) {
    throw DomainError.validation([
      ...unknown.map(({ column }) => ({
        field: `header[${column}]`,
        message: `unknown column; expected some of ${CSV_COLUMNS.join(', ')}`,
      })),
      ...missing.map((c) => ({ field: `header.${c}`, message: 'required column is missing' })),
    ]);
  }
  checkSize(data.length, maxRows);
  return data.map((cells, i) => {
    const row = i + 1;
    if (cells.length !== header.length) {
      return {
        row,
        value: null,
        parseError: { field: '(row)', message: `expected ${header.length} columns, found ${cells.length}` },
      };
    }
    return { row, value: objectFromCells(header, cells) };
  });
}

function objectFromCells(header: string[], cells: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  header.forEach((column, i) => {
    const cell = cells[i];
    if (cell === '') return; // empty cell: the field is absent
    if (column.startsWith('target.')) {
      const target = (out.target ??= {}) as Record<string, unknown>;
      target[column.slice('target.'.length)] = cell;
    } else if (column === 'tags') {
      out.tags = cell
        .split(';')
        .map((t) => t.trim())
        .filter(Boolean);
    } else {
      out[column] = cell;
    }
  });
  return out;
}

function checkSize(rows: number, maxRows: number): void {
  if (rows === 0) throw DomainError.validation([{ field: 'body', message: 'contains no rows' }]);
  if (rows > maxRows) {
    throw new DomainError(
      ErrorCode.PayloadTooLarge,
      `at most ${maxRows} rows per import request; this one has ${rows}`,
      {
        field: 'body',
        maxRows,
      },
    );
  }
}
