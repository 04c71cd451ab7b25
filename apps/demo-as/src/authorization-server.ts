import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { MemoryAdapter } from './memory-adapter';

/**
 * A real, OpenID-certified authorization server (node-oidc-provider) for tests and the demo:
 * dynamic registration and management (RFC 7591/7592), client credentials, introspection,
 * revocation, DPoP and every client authentication method, over plain http on loopback.
 * Configuration only; no behaviour of the server is faked.
 */
export interface AuthorizationServerOptions {
  host?: string;
  port?: number;
  /** Rotate the registration access token on every RFC 7592 PUT (the server's default). */
  rotateRegistrationAccessToken?: boolean;
  /**
   * Hosts whose `jwks_uri` the server may fetch although they are loopback or private (oidc-provider
   * refuses those since 9.7). Default: 127.0.0.1 and localhost, where Keyshift runs beside it.
   */
  jwksUriHosts?: readonly string[];
  /** DPoP proof algs the server accepts (and advertises); default every alg it supports. */
  dpopSigningAlgs?: readonly string[];
  /**
   * Tests only: `POST /admin/clients/{client_id}/registration-access-token` issues a new registration
   * access token, standing in for the server administrator who replaces a lost one.
   */
  adminReissueRoute?: boolean;
  /**
   * Tests only: an RFC 7591 registration may name its own `client_id` (else the server picks one),
   * so a vendor admin API twin in front of this server can let callers choose ids as Keycloak does.
   */
  acceptClientIds?: boolean;
}

export interface RunningAuthorizationServer {
  issuer: string;
  server: Server;
  close(): Promise<void>;
}

export async function startAuthorizationServer(
  options: AuthorizationServerOptions = {},
): Promise<RunningAuthorizationServer> {
  // oidc-provider is ESM-only; Node 20.19+ loads it through a native dynamic import.
  const { default: Provider } = (await import('oidc-provider')) as {
    default: new (issuer: string, config: object) => OidcProvider;
  };
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;

  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const jwksUriHosts = new Set(options.jwksUriHosts ?? ['127.0.0.1', 'localhost']);
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    // oidc-provider pins an SSRF-guarding dispatcher on its outgoing requests; for the named hosts
    // only, the request goes out without it. Everything else keeps the server's own guard.
    fetch: (url: URL | string, init: RequestInit & { dispatcher?: unknown }) => {
      if (jwksUriHosts.has(new URL(url).hostname)) delete init.dispatcher;
      return fetch(url, init);
    },
    jwks: { keys: [{ ...signingKey, kid: 'demo-as-signing', use: 'sig', alg: 'ES256' }] },
    features: {
      devInteractions: { enabled: false },
      registration: {
        enabled: true,
        idFactory: (ctx: { oidc: { body?: Record<string, unknown> } }) => {
          const asked = ctx.oidc.body?.client_id;
          return options.acceptClientIds && typeof asked === 'string' && asked
            ? asked
            : randomBytes(16).toString('base64url');
        },
      },
      registrationManagement: {
        enabled: true,
        rotateRegistrationAccessToken: options.rotateRegistrationAccessToken ?? true,
      },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: true },
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        certificateBoundAccessTokens: true,
        // Plain http on loopback has no TLS layer: no certificate is ever presented, so mTLS
        // methods are advertised (for discovery) but cannot authenticate here.
        getCertificate: () => undefined,
        certificateAuthorized: () => false,
        certificateSubjectMatches: () => false,
      },
    },
    clientAuthMethods: [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
      'none',
    ],
    enabledJWA: {
      clientAuthSigningAlgValues: ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519', 'HS256'],
      dPoPSigningAlgValues: options.dpopSigningAlgs ?? ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'],
    },
    scopes: ['openid', 'api'],
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: 'ES256',
    },
    ttl: { ClientCredentials: 300 },
  });
  provider.proxy = false;
  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const reissue = options.adminReissueRoute && req.method === 'POST' && REISSUE_ROUTE.exec(req.url ?? '');
    if (!reissue) return callback(req, res);
    void new provider.RegistrationAccessToken({ clientId: decodeURIComponent(reissue[1]) }).save().then(
      (token) =>
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ registration_access_token: token })),
      () => res.writeHead(500).end(),
    );
  });
  return {
    issuer,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const REISSUE_ROUTE = /^\/admin\/clients\/([^/?]+)\/registration-access-token$/;

interface OidcProvider {
  proxy: boolean;
  RegistrationAccessToken: new (fields: { clientId: string }) => { save(): Promise<string> };
  callback(): (req: unknown, res: unknown) => void;
}
