import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { JobWorkerHost, probeQueueName } from '@keyshift/queue';
import { Worker } from 'bullmq';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { probeBatching } from './probe-batching';

const REFRESH_MS = 5_000;

/**
 * One BullMQ worker per authorization server's probe queue, so BullMQ's own limiter enforces each
 * server's rate (across all replicas) and concurrency (per replica), counted in jobs of
 * probeBatching's size. New servers and changed
 * limits are picked up within a few seconds.
 */
@Injectable()
export class ProbeWorkerPool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly workers = new Map<string, { worker: Worker; rate: number; concurrency: number }>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;

  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly host: JobWorkerHost,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /** Starts workers for servers that have none, and restarts those whose limits changed. */
  refresh(): Promise<void> {
    this.refreshing ??= this.sync().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async sync(): Promise<void> {
    try {
      const servers = await this.servers.probeLimits();
      for (const s of servers) {
        const current = this.workers.get(s.id);
        if (current && current.rate === s.probeRatePerSecond && current.concurrency === s.probeConcurrency) continue;
        if (current) await this.host.stop(current.worker);
        const batching = probeBatching({ ratePerSecond: s.probeRatePerSecond, concurrency: s.probeConcurrency });
        const worker = this.host.start(probeQueueName(s.id), {
          ratePerSecond: batching.jobsPerSecond,
          concurrency: batching.jobConcurrency,
        });
        this.workers.set(s.id, { worker, rate: s.probeRatePerSecond, concurrency: s.probeConcurrency });
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not refresh probe workers');
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
