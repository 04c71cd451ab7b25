import { Injectable } from '@nestjs/common';
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
 * For servers Keyshift cannot manage: every change becomes exact instructions for an operator, who
 * makes it at the server and confirms through the API. The confirmation is not evidence: the
 * phase's probe still decides.
 */
@Connector('manual')
@Injectable()
export class ManualConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: false,
    readable: false,
    credential: 'none',
    // Unknown server: assume the safe case, one method per client.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    secretRetirement: 'method_switch',
    // Successor registration needs the new client's credentials in Keyshift: not by hand.
    canRegister: false,
    canDelete: true,
    senderConstraints: { dpop: true, mtls: false },
    assertion: { audiences: ['issuer', 'token_endpoint'], maxLifetimeSeconds: null, algs: null, typ: null },
    adminApi: null,
  };

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    throw new ConnectorError(
      `Keyshift cannot read ${target.clientId}'s registration: the server is managed by hand`,
      false,
    );
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    return {
      kind: 'awaiting_operator',
      instructions: [
        `Open client ${target.clientId} at the authorization server.`,
        ...steps(change),
        'Then confirm through the Keyshift API.',
      ],
    };
  }

  async register(server: ConnectorServer): Promise<NewRegistration> {
    throw new ConnectorError(
      `Keyshift cannot register a successor at ${server.issuer}: the server is managed by hand (use strategy in_place)`,
      false,
    );
  }

  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    return {
      kind: 'awaiting_operator',
      instructions: [
        `Delete client ${target.clientId} at the authorization server.`,
        'Then confirm through the Keyshift API.',
      ],
    };
  }
}

function steps(change: RegistrationChange): string[] {
  const out: string[] = [];
  if (change.token_endpoint_auth_method) {
    out.push(
      `Set its token endpoint authentication method to ${change.token_endpoint_auth_method}` +
        (change.token_endpoint_auth_signing_alg
          ? ` with signing algorithm ${change.token_endpoint_auth_signing_alg}.`
          : '.'),
    );
  }
  if (change.jwks_uri) out.push(`Set its JWKS URL (jwks_uri) to ${change.jwks_uri}`);
  if (change.jwks_uri === null) out.push('Remove its JWKS URL (jwks_uri).');
  if (change.jwks)
    out.push(
      `Replace its registered public keys with these (kids ${change.jwks.keys.map((k) => k.kid).join(', ')}): ${JSON.stringify(change.jwks)}`,
    );
  if (change.dpop_bound_access_tokens !== undefined) {
    out.push(
      change.dpop_bound_access_tokens
        ? 'Require DPoP-bound access tokens (dpop_bound_access_tokens).'
        : 'Stop requiring DPoP-bound access tokens.',
    );
  }
  if (change.retire_secret) {
    out.push('Destroy the client secret the server still stores: regenerate it and discard the value, or delete it.');
  }
  return out;
}
