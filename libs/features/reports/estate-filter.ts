import { clientFilterSql } from '../ports/client-filter';
import { EstateFilter } from './estate-summary';

/**
 * The SQL condition that selects a report's clients (alias `c`), with its parameters appended to
 * `params`: the client filter the client list and campaigns use too, so both select the same clients.
 */
export function estateWhere(filter: EstateFilter, params: unknown[]): string {
  return clientFilterSql(filter, params, 'c');
}

/** Only the filters that were set, for the report's own record of its scope. */
export function compactFilter(filter: EstateFilter): EstateFilter {
  return Object.fromEntries(
    Object.entries(filter).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)),
  ) as EstateFilter;
}
