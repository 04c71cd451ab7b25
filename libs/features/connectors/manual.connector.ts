import { Injectable } from '@nestjs/common';
import {
  ConnectorCapabilities,
  ConnectorClient,
  ConnectorError,
  ConnectorResult,
  Registered,
  RegistrationChange,
  ServerConnector,
} from './server-connector';

/**
 * For servers Keyshift cannot manage: every change becomes exact instructions for an operator, who
 * makes it at the server and confirms through the API. The confirmation is not evidence: the
 * phase's probe still decides.
 */
@Injectable()
export class ManualConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: false,
    readable: false,
    // Unknown server: assume the safe case, one method per client.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    // Successor registration needs the new client's credentials in Keyshift: not by hand.
    canRegister: false,
    canDelete: true,
    canRequireDpop: true,
  };

  async read(client: ConnectorClient): Promise<Record<string, unknown>> {
    throw new ConnectorError(
      `Keyshift cannot read ${client.clientId}'s registration: the server is managed by hand`,
      false,
    );
  }

  async update(client: ConnectorClient, change: RegistrationChange): Promise<ConnectorResult> {
    return {
      kind: 'awaiting_operator',
      instructions: [
        `Open client ${client.clientId} at the authorization server.`,
        ...steps(change),
        'Then confirm through the Keyshift API.',
      ],
    };
  }

  async registerSuccessor(client: ConnectorClient): Promise<Registered> {
    throw new ConnectorError(
      `Keyshift cannot register a successor of ${client.clientId}: the server is managed by hand (use strategy in_place)`,
      false,
    );
  }

  /** Nothing to recover: an operator's changes are confirmed through the API, never journalled. */
  async recover(): Promise<boolean> {
    return false;
  }

  async remove(client: ConnectorClient): Promise<ConnectorResult> {
    return {
      kind: 'awaiting_operator',
      instructions: [
        `Delete client ${client.clientId} at the authorization server.`,
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
  return out;
}
