import { Injectable } from '@nestjs/common';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ConnectorRegistry } from './connector-registry';
import { ConnectorTargets } from './connector-targets';
import { ConnectorError, ListedPage, ServerConnector } from './server-connector';

/**
 * Estate discovery's way to connectors (the Registrar's is for changes): a page of a server's
 * clients, and, where the vendor lets an admin read it, a client's current secret, whose reading is
 * on the record (who, which client, why) before the secret leaves this class.
 */
@Injectable()
export class ServerInventory {
  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly targets: ConnectorTargets,
    private readonly audit: AuditLog,
  ) {}

  /** Why the server's clients cannot be listed, or null when they can. */
  cannotList(server: AuthorizationServerEntity): string | null {
    const connector = this.registry.for(server.connectorType);
    if (connector.capabilities.adminApi?.lists && connector.list) return null;
    return `the ${server.connectorType} connector cannot list the server's clients (only admin-API connectors can)`;
  }

  revealsSecrets(server: AuthorizationServerEntity): boolean {
    const connector = this.registry.for(server.connectorType);
    return Boolean(connector.capabilities.adminApi?.revealsSecrets && connector.readSecret);
  }

  page(server: AuthorizationServerEntity, page: string | null): Promise<ListedPage> {
    return this.listing(server).list!(this.targets.server(server), page);
  }

  /** The client's secret as the server holds it, to be sealed at once; audited before it is returned. */
  async readSecret(server: AuthorizationServerEntity, clientId: string, actor: string): Promise<string> {
    const connector = this.registry.for(server.connectorType);
    if (!connector.readSecret)
      throw new ConnectorError(`the ${server.connectorType} connector cannot read secrets`, false);
    const secret = await connector.readSecret({
      server: this.targets.server(server),
      clientId,
      registration: 'original',
      registrationClientUri: null,
      registrationAccessToken: null,
    });
    await this.audit.recordSoon({
      actor: actor || SYSTEM_ACTORS.worker,
      action: 'client.secret_read_from_server',
      subjectType: 'authorization_server',
      subjectId: server.id,
      after: { clientId, purpose: 'inventory import (sealed into Keyshift only if the import commits)' },
    });
    return secret;
  }

  private listing(server: AuthorizationServerEntity): ServerConnector {
    const problem = this.cannotList(server);
    if (problem) throw new ConnectorError(problem, false);
    return this.registry.for(server.connectorType);
  }
}
