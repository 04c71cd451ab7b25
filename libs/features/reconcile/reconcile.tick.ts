import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobName, JobQueue } from '@keyshift/queue';

const INTERVAL_NAME = 'reconcile-tick';

/**
 * The scheduler only enqueues. The sweep job's id is the tick number (time / interval), so with
 * several worker replicas each tick is queued, and run, once.
 */
@Injectable()
export class ReconcileTick implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly intervalMs: number;

  constructor(
    private readonly scheduler: SchedulerRegistry,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.intervalMs = config.reconcile.intervalSeconds * 1000;
  }

  onApplicationBootstrap(): void {
    this.scheduler.addInterval(
      INTERVAL_NAME,
      setInterval(() => void this.tick(), this.intervalMs),
    );
  }

  async tick(): Promise<void> {
    const tick = Math.floor(this.clock.now().getTime() / this.intervalMs);
    try {
      await this.queue.enqueue({ name: JobName.ReconcileSweep, data: { tick } });
    } catch (error) {
      // Redis down: the next tick tries again; nothing is lost because state lives in Postgres.
      this.logger.warn({ err: (error as Error).message }, 'could not enqueue reconcile sweep');
    }
  }

  onApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
  }
}
