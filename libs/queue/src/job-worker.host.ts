import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Logger, LOGGER } from '@keyshift/common';
import { Worker } from 'bullmq';
import { JobName, PayloadOf, QUEUE_OF, QueueName } from './jobs';
import { RedisConnection } from './redis-connection';

/** Handles one job name. Handlers must be idempotent: BullMQ may deliver a job more than once. */
export interface JobHandler<N extends JobName = JobName> {
  readonly name: N;
  handle(data: PayloadOf<N>): Promise<void>;
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
    const queues = new Set(Object.values(QUEUE_OF));
    for (const queue of queues) this.workers.push(this.start(queue));
  }

  private start(queue: QueueName): Worker {
    const worker = new Worker(
      queue,
      async (job) => {
        const handler = this.handlers.get(job.name as JobName);
        if (!handler) throw new Error(`no handler for job ${job.name}`);
        await handler.handle(job.data as never);
      },
      {
        connection: this.redis.client,
        prefix: this.redis.prefix,
        concurrency: this.config.reconcile.concurrency,
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
    return worker;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
