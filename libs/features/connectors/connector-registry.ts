import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ConnectorCatalog } from '../ports/connector-catalog';
import { Connector, ConnectorError, ServerConnector } from './server-connector';

/**
 * Every connector in the application, by the type it is marked with. Found through Nest's
 * DiscoveryService rather than a hand-kept map, so a connector added in any module (a test's
 * included) is reachable with no edit here.
 */
@Injectable()
export class ConnectorRegistry extends ConnectorCatalog {
  private found: Map<string, ServerConnector> | null = null;

  constructor(private readonly discovery: DiscoveryService) {
    super();
  }

  /** Looked up on first use, not at init: an application context that is compiled but never initialised works too. */
  private get byType(): Map<string, ServerConnector> {
    if (this.found) return this.found;
    const found = new Map<string, ServerConnector>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: Connector.KEY })) {
      const type = this.discovery.getMetadataByDecorator(Connector, wrapper);
      if (!type || !wrapper.instance) continue;
      if (found.has(type)) throw new Error(`two connectors are marked @Connector('${type}')`);
      found.set(type, wrapper.instance as ServerConnector);
    }
    // An empty result is not kept: asked before the providers exist, the next call looks again.
    if (found.size > 0) this.found = found;
    return found;
  }

  types(): readonly string[] {
    return [...this.byType.keys()].sort();
  }

  capabilities(type: string) {
    return this.for(type).capabilities;
  }

  for(type: string): ServerConnector {
    const connector = this.byType.get(type);
    // Reachable only if a connector was removed while servers still name it: a person must act.
    if (!connector) {
      throw new ConnectorError(
        `this Keyshift has no connector of type ${type} (it has ${this.types().join(', ')})`,
        false,
      );
    }
    return connector;
  }
}
