import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobName, JobQueue, PeriodicJob } from '@keyshift/queue';

/** Every KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS: queue a sweep that refreshes stale evidence. */
@Injectable()
export class ProbeSweepTick implements OnApplicationBootstrap, OnApplicationShutdown {
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
      'probe-sweep-tick',
      config.probes.sweepIntervalSeconds * 1000,
      (tick) => ({
        name: JobName.ProbeSweep,
        data: { tick },
      }),
    );
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onApplicationShutdown(): void {
    this.periodic.stop();
  }
}
