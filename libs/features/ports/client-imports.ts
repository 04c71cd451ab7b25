import type { Principal } from '../api-tokens/principal';

/** A row an import refused, by position, naming the field (never its value). */
export interface RowError {
  row: number;
  field: string;
  message: string;
}

/** What an import did: counts, and every refused row. */
export interface ImportReport {
  received: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  errors: RowError[];
}

/**
 * Bulk client import (the clients feature's ClientImportService) for features that bring clients
 * in from elsewhere: estate discovery hands over rows shaped like `POST /v1/clients/import` rows,
 * validated, sealed and audited by the same code, in one transaction.
 */
export abstract class ClientImports {
  /** `reject`: any row error writes nothing; `skip`: rows with errors are left out and reported. */
  abstract import(
    rows: { row: number; value: unknown }[],
    mode: 'reject' | 'skip',
    by: Principal,
  ): Promise<ImportReport>;
}
