import { Injectable } from '@nestjs/common';
import { ConnectorType } from '../authorization-servers/authorization-server.entity';
import { ManualConnector } from './manual.connector';
import { Rfc7592Connector } from './rfc7592.connector';
import { ServerConnector } from './server-connector';

/** The connector for a server's configured type. */
@Injectable()
export class Connectors {
  private readonly byType: Record<ConnectorType, ServerConnector>;

  constructor(rfc7592: Rfc7592Connector, manual: ManualConnector) {
    this.byType = { [ConnectorType.Rfc7592]: rfc7592, [ConnectorType.Manual]: manual };
  }

  for(type: ConnectorType): ServerConnector {
    return this.byType[type];
  }
}
