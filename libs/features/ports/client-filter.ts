/**
 * Which clients a list, a report or a campaign is about: the one client filter, and the one place
 * that turns it into SQL. Every field is optional; the fields set combine with AND. A field counts
 * only if it is set to something (null, '' and [] are "not set", as class-validator's IsOptional
 * lets them through).
 *
 * The REST inputs use these names too (GET /v1/clients query, campaign `selector`, estate report
 * filter). `tags` is canonical; `tag` (one tag) is the older name on the client list and the
 * reports, still accepted everywhere and read as `tags: [tag]`.
 */
export interface ClientFilter {
  authorizationServerId?: string | null;
  owner?: string | null;
  /** Clients carrying every one of these tags. */
  tags?: readonly string[] | null;
  /** Deprecated alias: one tag, the same as `tags: [tag]` (both may be given: all must match). */
  tag?: string | null;
  phase?: string | null;
  state?: string | null;
}

/** The filter's criteria, in the order the API documents them. */
export const CLIENT_FILTER_CRITERIA = ['authorizationServerId', 'owner', 'tags', 'tag', 'phase', 'state'] as const;
export type ClientFilterCriterion = (typeof CLIENT_FILTER_CRITERIA)[number];

/** Every tag the filter requires: `tags` and the legacy `tag`, without repeats. */
export function requiredTags(filter: ClientFilter): string[] {
  const tags = [...(filter.tags ?? []), ...(filter.tag ? [filter.tag] : [])].filter((t) => Boolean(t));
  return [...new Set(tags)];
}

/** The criteria that are set (and so narrow the selection). */
export function criteriaGiven(filter: ClientFilter): ClientFilterCriterion[] {
  return CLIENT_FILTER_CRITERIA.filter((k) => (k === 'tags' ? (filter.tags?.length ?? 0) > 0 : Boolean(filter[k])));
}

/**
 * The SQL conditions a filter puts on the clients alias `c` (a table name or alias), with their
 * values appended to `params` (so numbering continues from whatever the caller already has). Each
 * condition has an index that serves it (see ClientEntity).
 */
export function clientFilterConditions(filter: ClientFilter, params: unknown[], c = 'c'): string[] {
  const where: string[] = [];
  const add = (condition: string, value: unknown) => where.push(`${condition} $${params.push(value)}`);
  if (filter.authorizationServerId) add(`${c}.authorization_server_id =`, filter.authorizationServerId);
  if (filter.owner) add(`${c}.owner =`, filter.owner);
  if (filter.phase) add(`${c}.phase =`, filter.phase);
  if (filter.state) add(`${c}.state =`, filter.state);
  const tags = requiredTags(filter);
  if (tags.length) where.push(`${c}.tags @> $${params.push(tags)}::text[]`);
  return where;
}

/** The filter as one WHERE fragment over alias `c` (`TRUE` when nothing is set); values appended to `params`. */
export function clientFilterSql(filter: ClientFilter, params: unknown[], c = 'c'): string {
  const where = clientFilterConditions(filter, params, c);
  return where.length ? where.join(' AND ') : 'TRUE';
}
