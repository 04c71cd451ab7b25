import { Injectable } from '@nestjs/common';
import { registrationClientUriProblem } from '../authorization-servers/registration-client-uri';
import { recordableMetadata, updatableMetadata } from './registration-metadata';
import { tokenIn } from './registration-tokens';
import { Exchange, Rfc7592Http } from './rfc7592-http';
import {
  ChangeOutcome,
  Connector,
  ConnectorCapabilities,
  ConnectorError,
  ConnectorServer,
  ConnectorTarget,
  NewRegistration,
  RegistrationChange,
  ServerAnswer,
  ServerConnector,
} from './server-connector';

/**
 * RFC 7591 registration and RFC 7592 management with the registration access token Keyshift holds
 * for each registration. An update is a full replacement (§2.2): the current registration is read,
 * the change applied, and the whole sent back. Servers may rotate the token on any update
 * (node-oidc-provider does on every PUT, and the old one dies at once); the rotated token comes
 * back in the answer for the Registrar to journal and seal.
 */
@Connector('rfc7592')
@Injectable()
export class Rfc7592Connector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    credential: 'registration_access_token',
    // RFC 7591 gives a client one token_endpoint_auth_method: switching it is atomic.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    secretRetirement: 'method_switch',
    canRegister: true,
    canDelete: true,
    // dpop_bound_access_tokens (RFC 9449 §5.2) is registration metadata; mTLS binding is not built yet.
    senderConstraints: { dpop: true, mtls: false },
    // RFC 7523 §3: the token endpoint URL, or the issuer as most servers also accept.
    assertion: { audiences: ['issuer', 'token_endpoint'], maxLifetimeSeconds: null, algs: null, typ: null },
    adminApi: null,
  };

  constructor(private readonly http: Rfc7592Http) {}

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    return answer(await this.send(target, 'RFC 7592 read', 'GET'));
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    if (change.retire_secret) {
      // Never asked (the method switch retires the secret here): refused rather than sent as metadata.
      throw new ConnectorError('RFC 7592 has no secret retirement beyond the method switch', false);
    }
    const current = await this.send(target, 'RFC 7592 read', 'GET');
    const updated = await this.send(target, 'RFC 7592 update', 'PUT', updatableMetadata(current.body, change));
    return {
      kind: 'applied',
      answer: { ...answer(updated), serverMs: Math.round(current.latencyMs + updated.latencyMs) },
    };
  }

  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    const deleted = await this.send(target, 'RFC 7592 delete', 'DELETE');
    return {
      kind: 'applied',
      answer: { metadata: {}, registrationAccessToken: null, serverMs: Math.round(deleted.latencyMs) },
    };
  }

  /**
   * RFC 7591 registration. The successor's token will be sent to the answer's
   * registration_client_uri, so a URI outside the endpoint that registered it is refused here,
   * before Keyshift keeps anything of it.
   */
  async register(server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration> {
    const endpoint = server.registrationEndpoint;
    if (!endpoint) throw new ConnectorError(`${server.issuer} advertises no registration_endpoint (RFC 7591)`, false);
    const res = await this.http.send('RFC 7591 registration', {
      method: 'POST',
      url: endpoint,
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    const body = res.body;
    const clientId = typeof body.client_id === 'string' ? body.client_id : null;
    const offered = typeof body.registration_client_uri === 'string' ? body.registration_client_uri : null;
    const uriIssue = offered
      ? registrationClientUriProblem(offered, {
          issuer: endpoint,
          trustedHosts: [],
          capabilities: { registrationEndpoint: endpoint },
        })
      : null;
    return {
      ...answer(res),
      clientId,
      // A URI elsewhere is never kept, so neither the Registrar nor recovery can send the token there.
      registrationClientUri: uriIssue ? null : offered,
      refusal: uriIssue
        ? `RFC 7591 registration: the answer's registration_client_uri ${uriIssue}; delete the registration at the server`
        : null,
    };
  }

  private send(target: ConnectorTarget, purpose: string, method: 'GET' | 'PUT' | 'DELETE', payload?: object) {
    // The Registrar passes both for a connector whose credential is the registration access token.
    if (!target.registrationClientUri || !target.registrationAccessToken) {
      throw new ConnectorError(
        `${purpose}: no registration_client_uri or registration access token for ${target.clientId}`,
        false,
      );
    }
    return this.http.withToken(
      target.registrationClientUri,
      target.registrationAccessToken,
      purpose,
      method,
      payload as Record<string, unknown> | undefined,
    );
  }
}

/** The server's answer as the port returns it: the token apart, the rest without secrets. */
function answer(res: Exchange): ServerAnswer {
  return {
    metadata: recordableMetadata(res.body),
    registrationAccessToken: tokenIn(res.body),
    serverMs: Math.round(res.latencyMs),
  };
}
