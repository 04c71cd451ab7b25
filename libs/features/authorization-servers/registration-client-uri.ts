import { effectivePort } from '@keyshift/config';
import { ServerCapabilities } from './authorization-server.entity';
import { endpointProblem, endpointScope } from './endpoint-policy';

/** What the rule needs to know of a server. */
export interface RegistrationUriServer {
  issuer: string;
  trustedHosts: readonly string[];
  capabilities: Pick<ServerCapabilities, 'registrationEndpoint'> | null;
}

/**
 * Why a client's `registrationClientUri` (RFC 7592: where Keyshift sends the registration access
 * token) is not acceptable for this server, or null. Once discovery has recorded the registration
 * endpoint, the URI must be under it: same scheme, host and port, and a path below the endpoint's
 * (node-oidc-provider `/reg/{id}`, Keycloak `.../clients-registrations/openid-connect/{id}`, Okta
 * `/oauth2/v1/clients/{id}`, Hydra `/oauth2/register/{id}` all are). Before discovery, it must at
 * least be on the issuer's host or one of the server's trusted hosts. Never echoes the value.
 */
export function registrationClientUriProblem(uri: string, server: RegistrationUriServer): string | null {
  const scope = endpointScope(server);
  const general = endpointProblem('registrationClientUri', uri, scope, { showHost: false });
  if (general) return general.replace(/^registrationClientUri /, '');
  const registrationEndpoint = server.capabilities?.registrationEndpoint;
  if (!registrationEndpoint) return null;
  const url = new URL(uri);
  const base = new URL(registrationEndpoint);
  const basePath = base.pathname.replace(/\/+$/, '');
  const under =
    url.protocol === base.protocol &&
    url.hostname === base.hostname &&
    effectivePort(url) === effectivePort(base) &&
    url.pathname.startsWith(`${basePath}/`) &&
    url.pathname.length > basePath.length + 1;
  return under
    ? null
    : "must be under the server's registration endpoint (same scheme, host and port, and a path below it)";
}
