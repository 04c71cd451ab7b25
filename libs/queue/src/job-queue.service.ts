import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JOB_OPTIONS, jobIdOf, JobPayload, queueNameOf } from './jobs';
import { RedisConnection } from './redis-connection';

/** Producer side: enqueues typed jobs with their deterministic ids and retry policy. */
@Injectable()
export class JobQueue implements OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly redis: RedisConnection) {}

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis.client, prefix: this.redis.prefix });
      // Connection errors also surface on the enqueue that meets them, and /health reports Redis
      // down; the listener keeps BullMQ from printing each reconnect attempt itself.
      queue.on('error', (error) => this.redis.warnError(error, { queue: name }));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** `delayMs` holds the job back (a step that is due later); the tick that re-queues due work is the safety net. */
  async enqueue(job: JobPayload, delayMs = 0): Promise<void> {
    await this.queue(queueNameOf(job)).add(job.name, job.data, {
      ...JOB_OPTIONS[job.name],
      jobId: jobIdOf(job),
      delay: Math.max(0, delayMs),
    });
  }

  /** Where a job stands in its queue: `waiting`, `active`, `delayed`, `completed`, `failed`… or `unknown` (not in Redis). */
  async state(job: JobPayload): Promise<string> {
    return this.queue(queueNameOf(job)).getJobState(jobIdOf(job));
  }

  async enqueueMany(jobs: JobPayload[]): Promise<void> {
    const byQueue = new Map<string, JobPayload[]>();
    for (const job of jobs) {
      const batch = byQueue.get(queueNameOf(job)) ?? [];
      batch.push(job);
      byQueue.set(queueNameOf(job), batch);
    }
    for (const [name, batch] of byQueue) {
      await this.queue(name).addBulk(
        batch.map((job) => ({
          name: job.name,
          data: job.data,
          opts: { ...JOB_OPTIONS[job.name], jobId: jobIdOf(job) },
        })),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
