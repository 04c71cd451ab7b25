import { Module } from '@nestjs/common';
import { AuthorizationServersService } from './authorization-servers.service';
import { DiscoverServerHandler } from './discover-server.handler';
import { ServerDiscovery } from './server-discovery.service';

/** Authorization servers and their discovery: used by the API and by the worker. */
@Module({
  providers: [AuthorizationServersService, ServerDiscovery, DiscoverServerHandler],
  exports: [AuthorizationServersService, ServerDiscovery, DiscoverServerHandler],
})
export class AuthorizationServersModule {}
