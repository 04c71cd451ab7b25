import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { JobPayload } from './jobs';
import { JobQueue } from './job-queue.service';

/** One scheduled fan-out: every `intervalMs`, enqueue `build(tick)`. */
export interface PeriodicJobSpec {
  name: string;
  intervalMs: number;
  build: (tick: number) => JobPayload;
}

export const PERIODIC_JOBS = Symbol('PERIODIC_JOBS');

/**
 * The worker's @nestjs/schedule intervals. They only enqueue; the job id carries the tick number
 * (time / interval), so with several worker replicas each tick is queued, and run, once.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(PERIODIC_JOBS) private readonly specs: PeriodicJobSpec[],
    private readonly scheduler: SchedulerRegistry,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    for (const spec of this.specs) {
      this.scheduler.addInterval(
        spec.name,
        setInterval(() => void this.tick(spec.name), spec.intervalMs),
      );
    }
  }

  /** Enqueues the named job for the current tick (also what the interval calls). */
  async tick(name: string): Promise<void> {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`no periodic job named ${name}`);
    try {
      await this.queue.enqueue(spec.build(Math.floor(this.clock.now().getTime() / spec.intervalMs)));
    } catch (error) {
      // Redis down: the next tick tries again; nothing is lost because state lives in Postgres.
      this.logger.warn({ job: name, err: (error as Error).message }, 'could not enqueue periodic job');
    }
  }

  onApplicationShutdown(): void {
    for (const spec of this.specs) {
      if (this.scheduler.doesExist('interval', spec.name)) this.scheduler.deleteInterval(spec.name);
    }
  }
}
