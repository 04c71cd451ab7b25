import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobName, JobQueue, PeriodicJob } from '@keyshift/queue';

/** Every KEYSHIFT_RECONCILE_INTERVAL_SECONDS: queue a reconcile sweep. */
@Injectable()
export class ReconcileTick implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly periodic: PeriodicJob;

  constructor(
    scheduler: SchedulerRegistry,
    queue: JobQueue,
    clock: Clock,
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.periodic = new PeriodicJob(
      scheduler,
      queue,
      clock,
      logger,
      'reconcile-tick',
      config.reconcile.intervalSeconds * 1000,
      (tick) => ({
        name: JobName.ReconcileSweep,
        data: { tick },
      }),
    );
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  tick(): Promise<void> {
    return this.periodic.tick();
  }

  onApplicationShutdown(): void {
    this.periodic.stop();
  }
}
