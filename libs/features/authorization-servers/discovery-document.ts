import { isUnstorableText } from '@keyshift/common';
import { ServerCapabilities } from './authorization-server.entity';
import { endpointProblem, EndpointScope } from './endpoint-policy';

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

/** RFC 8705 §5 names a handful of aliases; a document with more than this is not a real one. */
const MAX_MTLS_ALIASES = 32;

/** Endpoint names Keyshift calls or may hand a secret to; each must pass the endpoint policy. */
const ENDPOINTS = ['token_endpoint', 'registration_endpoint', 'jwks_uri'] as const;

/**
 * Checks every endpoint the document names that Keyshift may call (endpoint-policy.ts), so that a
 * secret, assertion or registration access token never goes where the issuer does not answer for.
 */
function endpointsProblem(doc: Record<string, unknown>, scope: EndpointScope): string | null {
  for (const name of ENDPOINTS) {
    if (doc[name] === undefined) continue;
    const problem = endpointProblem(name, doc[name], scope);
    if (problem) return problem;
  }
  const aliases = doc.mtls_endpoint_aliases;
  if (aliases === undefined) return null;
  if (typeof aliases !== 'object' || aliases === null || Array.isArray(aliases)) {
    return 'mtls_endpoint_aliases is not a JSON object';
  }
  const entries = Object.entries(aliases);
  if (entries.length > MAX_MTLS_ALIASES) return `mtls_endpoint_aliases has more than ${MAX_MTLS_ALIASES} members`;
  for (const [name, value] of entries) {
    // Member names end up in the stored reason: only metadata-shaped names are shown.
    if (!/^[a-z0-9_]{1,64}$/i.test(name)) return 'mtls_endpoint_aliases has a member name that is not a metadata name';
    const problem = endpointProblem(`mtls_endpoint_aliases.${name}`, value, scope);
    if (problem) return problem;
  }
  return null;
}

/** What to show of a value a document got wrong: JSON, cut short (a document may be a megabyte). */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * Validates a metadata document against the configured issuer and the endpoint policy, and
 * extracts what Keyshift needs. `scope` says which hosts the server's endpoints may be on.
 */
export function parseDiscoveryDocument(
  body: Buffer,
  issuer: string,
  from: string,
  scope: EndpointScope,
): ParsedDocument {
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
      reason: `metadata issuer ${shown(doc.issuer)} does not match the configured issuer ${issuer}`,
    };
  }
  if (doc.token_endpoint === undefined) return { ok: false, reason: 'metadata has no token_endpoint' };
  const endpoints = endpointsProblem(doc, scope);
  if (endpoints) return { ok: false, reason: endpoints };
  const optionalArray = (key: string, fallback: string[]): string[] | string => {
    const v = doc[key];
    if (v === undefined) return fallback;
    if (!stringArray(v)) return `${key} is not an array of strings`;
    // What is stored goes into a jsonb column, which refuses NUL and unpaired surrogates.
    return v.some(isUnstorableText) ? `${key} has a value with NUL characters or unpaired UTF-16 surrogates` : v;
  };
  // RFC 8414 §2: token_endpoint_auth_methods_supported defaults to client_secret_basic.
  const methods = optionalArray('token_endpoint_auth_methods_supported', ['client_secret_basic']);
  const algs = optionalArray('token_endpoint_auth_signing_alg_values_supported', []);
  const dpop = optionalArray('dpop_signing_alg_values_supported', []);
  for (const v of [methods, algs, dpop]) if (typeof v === 'string') return { ok: false, reason: v };
  const aliases = doc.mtls_endpoint_aliases as Record<string, string> | undefined;
  return {
    ok: true,
    capabilities: {
      tokenEndpoint: doc.token_endpoint as string,
      tokenEndpointAuthMethods: methods as string[],
      tokenEndpointAuthSigningAlgs: algs as string[],
      dpopSigningAlgs: dpop as string[],
      mtlsEndpointAliases: aliases ?? null,
      registrationEndpoint: typeof doc.registration_endpoint === 'string' ? doc.registration_endpoint : null,
      discoveredFrom: from,
    },
  };
}
