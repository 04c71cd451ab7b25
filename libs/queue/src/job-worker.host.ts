import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Logger, LOGGER } from '@keyshift/common';
import { Worker } from 'bullmq';
import { Job } from 'bullmq';
import { JobName, PayloadOf, QUEUE_CONCURRENCY, QueueName, STATIC_QUEUES } from './jobs';
import { RedisConnection } from './redis-connection';

/** Handles one job name. Handlers must be idempotent: BullMQ may deliver a job more than once. */
export interface JobHandler<N extends JobName = JobName> {
  readonly name: N;
  /** `job` and `worker` are there for handlers that steer retries (rate limits); most use only `data`. */
  handle(data: PayloadOf<N>, job?: Job, worker?: Worker): Promise<void>;
}

export const JOB_HANDLERS = Symbol('JOB_HANDLERS');

/** Starts one BullMQ worker per queue and routes each job to its handler. */
@Injectable()
export class JobWorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly workers: Worker[] = [];
  private readonly handlers = new Map<JobName, JobHandler>();

  constructor(
    @Inject(JOB_HANDLERS) handlers: JobHandler[],
    private readonly redis: RedisConnection,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    for (const h of handlers) this.handlers.set(h.name, h);
    // Boot fails rather than letting a job sit unhandled in Redis.
    const missing = Object.values(JobName).filter((name) => !this.handlers.has(name));
    if (missing.length) throw new Error(`no handler registered for job(s): ${missing.join(', ')}`);
  }

  onApplicationBootstrap(): void {
    for (const queue of STATIC_QUEUES) this.start(queue);
  }

  /** Starts a worker on a queue; probe queues pass their server's rate limit and concurrency. */
  start(queue: string, limits?: { ratePerSecond: number; concurrency: number }): Worker {
    const worker: Worker = new Worker(
      queue,
      async (job) => {
        const handler = this.handlers.get(job.name as JobName);
        if (!handler) throw new Error(`no handler for job ${job.name}`);
        await handler.handle(job.data as never, job, worker);
      },
      {
        connection: this.redis.client,
        prefix: this.redis.prefix,
        concurrency: limits?.concurrency ?? QUEUE_CONCURRENCY[queue as QueueName] ?? this.config.reconcile.concurrency,
        limiter: limits ? smoothLimiter(limits.ratePerSecond) : undefined,
        autorun: true,
      },
    );
    worker.on('failed', (job, error) =>
      this.logger.warn(
        { queue, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: error.message },
        'job failed',
      ),
    );
    worker.on('error', (error) => this.logger.error({ queue, err: error.message }, 'worker error'));
    this.workers.push(worker);
    return worker;
  }

  async stop(worker: Worker): Promise<void> {
    this.workers.splice(this.workers.indexOf(worker), 1);
    await worker.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/**
 * BullMQ's limiter counts in fixed windows, so `max: N per 1000 ms` lets up to 2N through in a
 * sliding second (N at the end of one window, N at the start of the next). Slicing the second into
 * ten windows keeps any sliding second within N + N/10, at the same average rate.
 */
export function smoothLimiter(ratePerSecond: number): { max: number; duration: number } {
  return ratePerSecond >= 10
    ? { max: Math.ceil(ratePerSecond / 10), duration: 100 }
    : { max: 1, duration: Math.ceil(1000 / ratePerSecond) };
}
