import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { assertionLifetimeSeconds, Phase, PhaseEvent, vendorSupport } from '@keyshift/domain';
import { JobName, JobQueue } from '@keyshift/queue';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ClientEntity } from '../clients/client.entity';
import { PhaseExecutor } from '../clients/phase-executor.port';
import { ConnectorCatalog } from '../ports/connector-catalog';

/**
 * Phase 1: judges the client's target against the capabilities its server advertised. Uses
 * discovery no older than KEYSHIFT_DISCOVERY_MAX_AGE_SECONDS; otherwise it asks for a fresh
 * discovery and waits for it, so no client advances on stale or absent evidence.
 */
@Injectable()
export class VendorCheckExecutor implements PhaseExecutor {
  readonly phase = Phase.VendorCheck;

  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly queue: JobQueue,
    private readonly connectors: ConnectorCatalog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async run(client: ClientEntity): Promise<PhaseEvent> {
    const server = await this.servers.get(client.authorizationServerId);
    const now = this.clock.now();
    const fresh =
      server.capabilities !== null &&
      server.capabilitiesCheckedAt !== null &&
      now.getTime() - server.capabilitiesCheckedAt.getTime() <= this.config.discovery.maxAgeSeconds * 1000;

    if (!fresh) {
      const lastFailure =
        server.discoveryStatus === 'failed' ? `last discovery failed: ${server.discoveryError}` : null;
      await this.queue.enqueue({
        name: JobName.DiscoverServer,
        data: { serverId: server.id, requestedAt: now.getTime() },
      });
      return {
        type: 'transient_failure',
        reason: lastFailure ?? `waiting for discovery of ${server.issuer}`,
        retryAt: new Date(now.getTime() + this.config.discovery.recheckSeconds * 1000),
      };
    }
    if (!this.connectors.types().includes(server.connectorType)) {
      // A server whose connector left this build (a type only a plugin or a test had).
      return {
        type: 'evidence',
        evidence: {
          kind: 'vendor_support',
          supported: false,
          missing: [`a connector of type ${server.connectorType} in this Keyshift`],
        },
      };
    }
    return {
      type: 'evidence',
      evidence: vendorSupport(
        server.capabilities!,
        {
          authMethod: client.targetAuthMethod,
          senderConstraint: client.targetSenderConstraint,
          strategy: client.targetStrategy,
        },
        {
          capabilities: this.connectors.capabilities(server.connectorType),
          assertion: {
            audience: server.assertionAudience,
            lifetimeSeconds: assertionLifetimeSeconds(server.maxAssertionSeconds),
          },
        },
      ),
    };
  }
}
