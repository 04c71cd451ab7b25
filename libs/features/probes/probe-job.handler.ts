import { Inject, Injectable } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { JobHandler, JobName, JobQueue, PayloadOf } from '@keyshift/queue';
import { Job, Worker } from 'bullmq';
import { ProbeMethod, TRANSIENT_OUTCOMES } from './probe.entity';
import { ProbeNotPossible, ProbeRunner } from './probe-runner.service';
import { ServerBackoff } from './server-backoff';

/**
 * Runs one probe and steers retries. Every attempt is recorded as evidence. A transient outcome
 * (429, 5xx, timeout, unreachable) pauses the server's whole probe queue (Retry-After when the
 * server gave one, else the shared exponential backoff) and re-queues the job without spending an
 * attempt; after KEYSHIFT_PHASE_MAX_ATTEMPTS transient failures the job gives up, its last outcome
 * on record. A refusal is an answer: never retried.
 */
@Injectable()
export class ProbeJobHandler implements JobHandler<JobName.Probe> {
  readonly name = JobName.Probe;

  constructor(
    private readonly runner: ProbeRunner,
    private readonly backoff: ServerBackoff,
    private readonly queue: JobQueue,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(data: PayloadOf<JobName.Probe>, job?: Job, worker?: Worker): Promise<void> {
    const failuresSoFar = data.transientFailures ?? 0;
    let probe;
    try {
      probe = await this.runner.run({
        clientRowId: data.clientRowId,
        method: data.method as ProbeMethod,
        dpop: data.dpop,
        purpose: data.purpose,
        sweepId: data.sweepId,
        attempt: failuresSoFar + 1,
      });
    } catch (error) {
      if (!(error instanceof ProbeNotPossible)) throw error;
      if (error.needsDiscovery) {
        await this.queue.enqueue({
          name: JobName.DiscoverServer,
          data: { serverId: data.serverId, requestedAt: Date.now() },
        });
        throw error; // retried with the job's backoff once discovery had a chance
      }
      this.logger.info(
        { clientRowId: data.clientRowId, method: data.method, reason: error.message },
        'probe not possible',
      );
      return;
    }

    if (!TRANSIENT_OUTCOMES.has(probe.outcome)) {
      await this.backoff.answered(data.serverId);
      return;
    }
    const pauseMs =
      probe.retryAfterSeconds !== null
        ? Math.min(probe.retryAfterSeconds * 1000, this.config.probes.maxBackoffSeconds * 1000)
        : await this.backoff.failed(data.serverId);
    if (failuresSoFar + 1 >= this.config.reconcile.maxAttempts || !job || !worker) return; // give up; evidence recorded
    await job.updateData({ ...data, transientFailures: failuresSoFar + 1 });
    await worker.rateLimit(pauseMs);
    throw Worker.RateLimitError();
  }
}
