import { ServerCapabilities } from './authorization-server.entity';

/** Where to look for metadata: OpenID Connect Discovery first, then RFC 8414 (path inserted after the host). */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [
    `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

export type ParsedDocument = { ok: true; capabilities: ServerCapabilities } | { ok: false; reason: string };

const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Validates a metadata document against the configured issuer and extracts what Keyshift needs. */
export function parseDiscoveryDocument(body: Buffer, issuer: string, from: string): ParsedDocument {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { ok: false, reason: 'metadata is not a JSON object' };
    doc = parsed as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'metadata is not valid JSON' };
  }
  // RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer must be identical, or the document is not this server's.
  if (doc.issuer !== issuer) {
    return {
      ok: false,
      reason: `metadata issuer ${JSON.stringify(doc.issuer)} does not match the configured issuer ${issuer}`,
    };
  }
  if (typeof doc.token_endpoint !== 'string') return { ok: false, reason: 'metadata has no token_endpoint' };
  const optionalArray = (key: string, fallback: string[]): string[] | string => {
    const v = doc[key];
    if (v === undefined) return fallback;
    return stringArray(v) ? v : `${key} is not an array of strings`;
  };
  // RFC 8414 §2: token_endpoint_auth_methods_supported defaults to client_secret_basic.
  const methods = optionalArray('token_endpoint_auth_methods_supported', ['client_secret_basic']);
  const algs = optionalArray('token_endpoint_auth_signing_alg_values_supported', []);
  const dpop = optionalArray('dpop_signing_alg_values_supported', []);
  for (const v of [methods, algs, dpop]) if (typeof v === 'string') return { ok: false, reason: v };
  const aliases = doc.mtls_endpoint_aliases;
  return {
    ok: true,
    capabilities: {
      tokenEndpoint: doc.token_endpoint,
      tokenEndpointAuthMethods: methods as string[],
      tokenEndpointAuthSigningAlgs: algs as string[],
      dpopSigningAlgs: dpop as string[],
      mtlsEndpointAliases: typeof aliases === 'object' && aliases !== null ? (aliases as Record<string, string>) : null,
      registrationEndpoint: typeof doc.registration_endpoint === 'string' ? doc.registration_endpoint : null,
      discoveredFrom: from,
    },
  };
}
