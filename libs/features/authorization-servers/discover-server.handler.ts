import { Injectable } from '@nestjs/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { ServerDiscovery } from './server-discovery.service';

export class TransientDiscoveryError extends Error {
  override readonly name = 'TransientDiscoveryError';
}

/** Runs one discovery. A transient outcome throws, so BullMQ retries it with backoff; nothing else does. */
@Injectable()
export class DiscoverServerHandler implements JobHandler<JobName.DiscoverServer> {
  readonly name = JobName.DiscoverServer;

  constructor(private readonly discovery: ServerDiscovery) {}

  async handle({ serverId }: PayloadOf<JobName.DiscoverServer>): Promise<void> {
    const outcome = await this.discovery.discover(serverId);
    if (outcome.status === 'transient') throw new TransientDiscoveryError(outcome.reason);
  }
}
