import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock, Logger } from '@keyshift/common';
import { JobPayload } from './jobs';
import { JobQueue } from './job-queue.service';

/**
 * A @nestjs/schedule interval that only enqueues. The job id carries the tick number
 * (time / interval), so with several worker replicas each tick is queued, and run, once.
 */
export class PeriodicJob {
  constructor(
    private readonly scheduler: SchedulerRegistry,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly build: (tick: number) => JobPayload,
  ) {}

  start(): void {
    this.scheduler.addInterval(
      this.name,
      setInterval(() => void this.tick(), this.intervalMs),
    );
  }

  async tick(): Promise<void> {
    const tick = Math.floor(this.clock.now().getTime() / this.intervalMs);
    try {
      await this.queue.enqueue(this.build(tick));
    } catch (error) {
      // Redis down: the next tick tries again; nothing is lost because state lives in Postgres.
      this.logger.warn({ job: this.name, err: (error as Error).message }, 'could not enqueue periodic job');
    }
  }

  stop(): void {
    if (this.scheduler.doesExist('interval', this.name)) this.scheduler.deleteInterval(this.name);
  }
}
