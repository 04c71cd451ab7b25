import { INestApplicationContext } from '@nestjs/common';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ServerDiscovery } from '@keyshift/features/authorization-servers/server-discovery.service';
import { anAuthorizationServer } from './factories';

/** Registers a (real) authorization server in Keyshift and runs its discovery, which must succeed. */
export async function discoveredServer(
  app: INestApplicationContext,
  issuer: string,
  profile: Record<string, unknown> = {},
): Promise<string> {
  const { id } = await app
    .get(AuthorizationServersService)
    .create(anAuthorizationServer({ issuer, ...profile }) as never, { tokenId: 't', name: 'ops', role: Role.Operator });
  const outcome = await app.get(ServerDiscovery).discover(id);
  if (outcome.status !== 'ok') throw new Error(`discovery of ${issuer} failed: ${JSON.stringify(outcome)}`);
  return id;
}
