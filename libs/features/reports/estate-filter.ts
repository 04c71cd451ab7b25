import { EstateFilter } from './estate-summary';

/**
 * The SQL condition that selects a report's clients (alias `c`), with its parameters appended to
 * `params`. The same filters as GET /v1/clients, served by the same indexes.
 */
export function estateWhere(filter: EstateFilter, params: unknown[]): string {
  const where: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.authorizationServerId) add('c.authorization_server_id = ?', filter.authorizationServerId);
  if (filter.owner) add('c.owner = ?', filter.owner);
  if (filter.tag) add('c.tags @> ARRAY[?]::text[]', filter.tag);
  if (filter.phase) add('c.phase = ?', filter.phase);
  return where.length ? where.join(' AND ') : 'TRUE';
}

/** Only the filters that were set, for the report's own record of its scope. */
export function compactFilter(filter: EstateFilter): EstateFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as EstateFilter;
}
