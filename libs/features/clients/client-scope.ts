/** Which clients a list, a report or a sweep is about; every field is optional and they combine with AND. */
export interface ClientScope {
  authorizationServerId?: string;
  owner?: string;
  tag?: string;
  phase?: string;
  state?: string;
}

/**
 * The SQL conditions for a client scope over `table` (a table name or alias), with their values
 * appended to `params`. Each condition has an index that serves it (see ClientEntity).
 */
export function clientScopeConditions(scope: ClientScope, params: unknown[], table: string): string[] {
  const where: string[] = [];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    where.push(`${table}.${condition} $${params.length}`);
  };
  if (scope.phase) add('phase =', scope.phase);
  if (scope.state) add('state =', scope.state);
  if (scope.authorizationServerId) add('authorization_server_id =', scope.authorizationServerId);
  if (scope.owner) add('owner =', scope.owner);
  if (scope.tag) where.push(`${table}.tags @> ARRAY[$${params.push(scope.tag)}]::text[]`);
  return where;
}
