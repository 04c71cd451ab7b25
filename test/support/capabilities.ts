import type { ConnectorCapabilities } from '@keyshift/domain';

/** What an RFC 7592 connector declares (as Rfc7592Connector does): the base tests vary one field of. */
export const RFC7592_LIKE: ConnectorCapabilities = {
  automated: true,
  readable: true,
  credential: 'registration_access_token',
  overlappingMethods: false,
  keyDelivery: ['jwks_uri', 'jwks'],
  secretRetirement: 'method_switch',
  canRegister: true,
  canDelete: true,
  senderConstraints: { dpop: true, mtls: false },
  assertion: { audiences: ['issuer', 'token_endpoint'], maxLifetimeSeconds: null, algs: null, typ: null },
  adminApi: null,
};
