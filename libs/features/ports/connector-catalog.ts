import type { ConnectorCapabilities } from '@keyshift/domain';

/**
 * The connector types this process knows (every provider marked `@Connector`) and what each can
 * do, for features that must judge a server without calling it: the authorization server API
 * refuses a type no connector answers to; the vendor check reads capabilities. Provided by the
 * connectors feature's registry.
 */
export abstract class ConnectorCatalog {
  abstract types(): readonly string[];
  abstract capabilities(type: string): ConnectorCapabilities;
}
