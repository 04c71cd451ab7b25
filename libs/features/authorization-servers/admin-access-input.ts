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
  const refuse = (field: string, message: string) => problems.push({ field: prefix + field, message });
  const outcome = (access: AdminAccessInput) => (problems.length ? { problems } : { access });
  const type = connector.type;
  if (!needs) {
    for (const field of ['adminUrl', 'credential', 'adminCallsPerMinute'] as const) {
      if (connector[field] !== undefined) refuse(field, `is not used by the ${type} connector`);
    }
    return outcome({ adminUrl: null, credential: null, secret: null });
  }
  if (connector.adminUrl === undefined) refuse('adminUrl', `is required by the ${type} connector`);
  else {
    const problem = adminUrlProblem(connector.adminUrl, scope);
    if (problem) refuse('adminUrl', problem);
  }
  const given = connector.credential;
  if (!given) {
    if (!needs.credentialOptional) refuse('credential', `is required by the ${type} connector`);
    return outcome({ adminUrl: connector.adminUrl ?? null, credential: null, secret: null });
  }
  if (!needs.credentials.includes(given.kind)) {
    refuse('credential.kind', `must be one of: ${needs.credentials.join(', ')} (for the ${type} connector)`);
    return { problems };
  }
  const { required, secret } = CREDENTIAL_FIELDS[given.kind];
  const allowed: readonly string[] = [...required, ...(given.kind === 'client_credentials' ? ['scope'] : [])];
  for (const field of required) {
    if (given[field] === undefined) refuse(`credential.${field}`, `is required for kind ${given.kind}`);
  }
  for (const field of ['clientId', 'clientSecret', 'token', 'scope'] as const) {
    if (!allowed.includes(field) && given[field] !== undefined) {
      refuse(`credential.${field}`, `is not used by kind ${given.kind}`);
    }
  }
  return outcome({
    adminUrl: connector.adminUrl!,
    credential: { kind: given.kind, clientId: given.clientId ?? null, scope: given.scope ?? null },
    secret: given[secret]!,
  });
}

/** Per credential kind: the fields it must carry, and which of them is the secret part that gets sealed. */
const CREDENTIAL_FIELDS = {
  client_credentials: { required: ['clientId', 'clientSecret'], secret: 'clientSecret' },
  bearer: { required: ['token'], secret: 'token' },
  ssws: { required: ['token'], secret: 'token' },
} as const;

/** Why an admin URL cannot be used (endpoint policy, and no query: paths are appended to it), or null. */
export function adminUrlProblem(adminUrl: string, scope: EndpointScope): string | null {
  const problem = endpointProblem('connector.adminUrl', adminUrl, scope);
  if (problem) return problem.replace(/^connector\.adminUrl /, '');
  return adminUrl.includes('?') ? 'must not have a query string' : null;
}
