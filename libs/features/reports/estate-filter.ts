import { clientScopeConditions } from '../clients/client-scope';
import { EstateFilter } from './estate-summary';

/**
 * The SQL condition that selects a report's clients (alias `c`), with its parameters appended to
 * `params`: the client list's own conditions, so both select the same clients.
 */
export function estateWhere(filter: EstateFilter, params: unknown[]): string {
  const where = clientScopeConditions(filter, params, 'c');
  return where.length ? where.join(' AND ') : 'TRUE';
}

/** Only the filters that were set, for the report's own record of its scope. */
export function compactFilter(filter: EstateFilter): EstateFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as EstateFilter;
}
