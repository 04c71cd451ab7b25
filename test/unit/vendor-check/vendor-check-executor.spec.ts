import type { Clock } from '@keyshift/common';
import type { KeyshiftConfig } from '@keyshift/config';
import type { ConnectorCapabilities } from '@keyshift/domain';
import type { JobQueue } from '@keyshift/queue';
import type { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import type { AuthorizationServersRepository } from '@keyshift/features/authorization-servers/authorization-servers.repository';
import type { ClientEntity } from '@keyshift/features/clients/client.entity';
import { ConnectorCatalog } from '@keyshift/features/ports/connector-catalog';
import { VendorCheckExecutor } from '@keyshift/features/vendor-check/vendor-check.executor';

const NOW = new Date('2026-12-07T12:00:00Z');
const CAPS: ConnectorCapabilities = {
  automated: true,
  readable: true,
  credential: 'server_admin',
  overlappingMethods: true,
  keyDelivery: ['jwks_uri'],
  secretRetirement: 'method_switch',
  canRegister: false,
  canDelete: true,
  senderConstraints: { dpop: false, mtls: false },
  assertion: { audiences: ['token_endpoint'], maxLifetimeSeconds: 300, algs: ['RS256'], typ: null },
  adminApi: { credentials: ['bearer'], credentialOptional: false, lists: false, revealsSecrets: false },
};

/**
 * Phase 1 judges a client by its server's advertised metadata and by what the server's connector
 * says it can do, read through the catalog by the server's type: never by the type's name.
 */
describe('VendorCheckExecutor', () => {
  const server = (over: Partial<AuthorizationServerEntity> = {}) =>
    ({
      id: 's1',
      issuer: 'https://idp.example.com',
      connectorType: 'vendor-x',
      assertionAudience: 'token_endpoint',
      maxAssertionSeconds: 60,
      capabilities: {
        tokenEndpoint: 'https://idp.example.com/token',
        tokenEndpointAuthMethods: ['client_secret_basic', 'private_key_jwt'],
        tokenEndpointAuthSigningAlgs: ['RS256', 'ES256'],
        dpopSigningAlgs: ['ES256'],
        mtlsEndpointAliases: null,
        registrationEndpoint: null,
        discoveredFrom: 'https://idp.example.com/.well-known/openid-configuration',
      },
      capabilitiesCheckedAt: new Date(NOW.getTime() - 1000),
      discoveryStatus: 'ok',
      ...over,
    }) as AuthorizationServerEntity;
  const client = (target: Partial<ClientEntity> = {}) =>
    ({
      authorizationServerId: 's1',
      targetAuthMethod: 'private_key_jwt',
      targetSenderConstraint: 'none',
      targetStrategy: 'in_place',
      ...target,
    }) as ClientEntity;
  const run = (s: AuthorizationServerEntity, c: ClientEntity, types = ['vendor-x']) => {
    const catalog = new (class extends ConnectorCatalog {
      types = () => types;
      capabilities = () => CAPS;
    })();
    return new VendorCheckExecutor(
      { get: async () => s } as unknown as AuthorizationServersRepository,
      { enqueue: async () => undefined } as unknown as JobQueue,
      catalog,
      { now: () => NOW } as Clock,
      { discovery: { maxAgeSeconds: 3600, recheckSeconds: 5 } } as KeyshiftConfig,
    ).run(c);
  };

  it('passes a target the server and its connector can carry', async () => {
    expect(await run(server(), client())).toEqual({
      type: 'evidence',
      evidence: { kind: 'vendor_support', supported: true },
    });
  });

  it('names what the connector cannot do, from its capabilities', async () => {
    expect(
      await run(
        server(),
        client({ targetSenderConstraint: 'dpop', targetStrategy: 'successor' } as Partial<ClientEntity>),
      ),
    ).toEqual({
      type: 'evidence',
      evidence: {
        kind: 'vendor_support',
        supported: false,
        missing: [
          'a way for the connector to require DPoP-bound tokens for the client',
          'new registrations through the connector, needed by the successor strategy',
        ],
      },
    });
  });

  it('signs for the aud the server is set up with: one the connector does not accept is named', async () => {
    const evidence = await run(server({ assertionAudience: 'issuer' as never }), client());
    expect(evidence).toMatchObject({
      evidence: {
        supported: false,
        missing: ['client assertions with aud issuer (the server accepts token_endpoint)'],
      },
    });
  });

  it('refuses, by name, a server whose connector type this Keyshift does not have', async () => {
    expect(await run(server(), client(), ['rfc7592', 'manual'])).toEqual({
      type: 'evidence',
      evidence: {
        kind: 'vendor_support',
        supported: false,
        missing: ['a connector of type vendor-x in this Keyshift'],
      },
    });
  });

  it('waits for discovery rather than judge stale evidence', async () => {
    const stale = server({ capabilitiesCheckedAt: new Date(NOW.getTime() - 7_200_000) });
    expect(await run(stale, client())).toMatchObject({ type: 'transient_failure' });
  });
});
