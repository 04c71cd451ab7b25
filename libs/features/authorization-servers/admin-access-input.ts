import type { AdminApiNeeds } from '@keyshift/domain';
import { AdminCredentialPublic } from './authorization-server.entity';
import { ConnectorDto } from './authorization-servers.dto';
import { endpointProblem, EndpointScope } from './endpoint-policy';

export interface FieldProblem {
  field: string;
  message: string;
}

/** A server's admin access as it will be stored: the public part, and the secret part to seal. */
export interface AdminAccessInput {
  adminUrl: string | null;
  credential: AdminCredentialPublic | null;
  /** What gets sealed: never stored or shown in the clear. */
  secret: string | null;
}

/**
 * Judges `connector.adminUrl` and `connector.credential` against what the connector's admin API
 * needs, naming each wrong field (never quoting a value: a misplaced secret must not come back).
 */
export function adminAccessInput(
  connector: ConnectorDto,
  needs: AdminApiNeeds | null,
  scope: EndpointScope,
  /** Where the fields sit in the request body: `connector.` on create, nothing on PUT …/admin-access. */
  prefix = 'connector.',
): { problems: FieldProblem[] } | { access: AdminAccessInput } {
  const problems: FieldProblem[] = [];
  const named = (p: FieldProblem[]) => p.map((x) => ({ ...x, field: prefix + x.field.replace(/^connector\./, '') }));
  if (!needs) {
    if (connector.adminUrl !== undefined) problems.push(notUsed('connector.adminUrl', connector.type));
    if (connector.credential !== undefined) problems.push(notUsed('connector.credential', connector.type));
    if (connector.adminCallsPerMinute !== undefined)
      problems.push(notUsed('connector.adminCallsPerMinute', connector.type));
    return problems.length
      ? { problems: named(problems) }
      : { access: { adminUrl: null, credential: null, secret: null } };
  }
  if (connector.adminUrl === undefined) {
    problems.push({ field: 'connector.adminUrl', message: `is required by the ${connector.type} connector` });
  } else {
    const problem = adminUrlProblem(connector.adminUrl, scope);
    if (problem) problems.push({ field: 'connector.adminUrl', message: problem });
  }
  const given = connector.credential;
  if (!given) {
    if (!needs.credentialOptional) {
      problems.push({ field: 'connector.credential', message: `is required by the ${connector.type} connector` });
    }
    return problems.length
      ? { problems: named(problems) }
      : { access: { adminUrl: connector.adminUrl ?? null, credential: null, secret: null } };
  }
  if (!needs.credentials.includes(given.kind)) {
    problems.push({
      field: 'connector.credential.kind',
      message: `must be one of: ${needs.credentials.join(', ')} (for the ${connector.type} connector)`,
    });
    return { problems: named(problems) };
  }
  const wanted = given.kind === 'client_credentials' ? ['clientId', 'clientSecret'] : ['token'];
  const allowed = given.kind === 'client_credentials' ? ['clientId', 'clientSecret', 'scope'] : ['token'];
  for (const field of wanted) {
    if (given[field as keyof typeof given] === undefined) {
      problems.push({ field: `connector.credential.${field}`, message: `is required for kind ${given.kind}` });
    }
  }
  for (const field of ['clientId', 'clientSecret', 'token', 'scope']) {
    if (!allowed.includes(field) && given[field as keyof typeof given] !== undefined) {
      problems.push({ field: `connector.credential.${field}`, message: `is not used by kind ${given.kind}` });
    }
  }
  if (problems.length) return { problems: named(problems) };
  return {
    access: {
      adminUrl: connector.adminUrl!,
      credential: { kind: given.kind, clientId: given.clientId ?? null, scope: given.scope ?? null },
      secret: (given.kind === 'client_credentials' ? given.clientSecret : given.token)!,
    },
  };
}

/** Why an admin URL cannot be used (endpoint policy, and no query: paths are appended to it), or null. */
export function adminUrlProblem(adminUrl: string, scope: EndpointScope): string | null {
  const problem = endpointProblem('connector.adminUrl', adminUrl, scope);
  if (problem) return problem.replace(/^connector\.adminUrl /, '');
  return adminUrl.includes('?') ? 'must not have a query string' : null;
}

function notUsed(field: string, type: string): FieldProblem {
  return { field, message: `is not used by the ${type} connector` };
}
