import { Inject, Injectable } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { retriesExhausted } from '@keyshift/domain';
import { JobHandler, JobName, JobQueue, PayloadOf, ProbeTarget } from '@keyshift/queue';
import { Job, Worker } from 'bullmq';
import { ProbeEntity, ProbeMethod, TRANSIENT_OUTCOMES } from './probe.entity';
import { ProbeNotPossible, ProbeRunner } from './probe-runner.service';
import { ServerBackoff } from './server-backoff';

/**
 * Runs a job's probes together and steers retries. Every attempt is recorded as evidence. If any
 * probe ends transient (429, 5xx, timeout, unreachable), the server's whole probe queue pauses
 * (Retry-After when the server gave one, else the shared exponential backoff) and the job goes back
 * to the queue with only those probes, without spending an attempt; after
 * KEYSHIFT_PHASE_MAX_ATTEMPTS transient rounds it gives up, the last outcomes on record. A refusal
 * is an answer: never retried.
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
    const results = await Promise.allSettled(data.targets.map((target) => this.probe(data, target, failuresSoFar)));
    const crashed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (crashed) {
      if (crashed.reason instanceof ProbeNotPossible && crashed.reason.needsDiscovery) {
        await this.queue.enqueue({
          name: JobName.DiscoverServer,
          data: { serverId: data.serverId, requestedAt: Date.now() },
        });
      }
      // The job's own retries (with backoff) take only the probes that did not run.
      await job?.updateData({ ...data, targets: data.targets.filter((_, i) => results[i].status === 'rejected') });
      throw crashed.reason;
    }

    const probes = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
    const transient = probes.flatMap((p) => (p && TRANSIENT_OUTCOMES.has(p.outcome) ? [p] : []));
    if (transient.length === 0) {
      await this.backoff.answered(data.serverId);
      return;
    }
    const retryAfter = Math.max(...transient.map((p) => p.retryAfterSeconds ?? -1));
    const pauseMs =
      retryAfter >= 0
        ? Math.min(retryAfter * 1000, this.config.probes.maxBackoffSeconds * 1000)
        : await this.backoff.failed(data.serverId);
    if (retriesExhausted(failuresSoFar + 1, this.config.reconcile.maxAttempts) || !job || !worker) return; // give up; evidence recorded
    await job.updateData({
      ...data,
      targets: data.targets.filter((_, i) => transient.includes(probes[i]!)),
      transientFailures: failuresSoFar + 1,
    });
    await worker.rateLimit(pauseMs);
    throw Worker.RateLimitError();
  }

  /** One probe; null when it cannot be attempted for a reason a retry would not change. */
  private async probe(
    data: PayloadOf<JobName.Probe>,
    target: ProbeTarget,
    failuresSoFar: number,
  ): Promise<ProbeEntity | null> {
    try {
      return await this.runner.run({
        clientRowId: target.clientRowId,
        method: target.method as ProbeMethod,
        dpop: target.dpop,
        purpose: data.purpose,
        sweepId: data.sweepId,
        attempt: failuresSoFar + 1,
      });
    } catch (error) {
      if (!(error instanceof ProbeNotPossible) || error.needsDiscovery) throw error;
      this.logger.info({ ...target, reason: error.message }, 'probe not possible');
      return null;
    }
  }
}
