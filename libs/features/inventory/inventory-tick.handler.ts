import { Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { INVENTORY_ATTEMPTS, JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { InventoryRepository } from './inventory.repository';

/**
 * Long enough for a page at a tight admin budget (Okta at 20 calls a minute lists 200 apps and their
 * secrets in about ten minutes), short enough that a lost run resumes the same hour.
 */
export const INVENTORY_SILENCE_SECONDS = 15 * 60;

/** BullMQ states in which the run's job will still be worked. */
const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * The safety net under inventory runs: a run silent for too long whose job is not live any more
 * (Redis lost it, or BullMQ failed a stalled job without calling the handler) is queued again under
 * a new job id and resumes at its stored cursor; one out of attempts is failed with the reason.
 */
@Injectable()
export class InventoryTickHandler implements JobHandler<JobName.InventoryTick> {
  readonly name = JobName.InventoryTick;

  constructor(
    private readonly inventory: InventoryRepository,
    private readonly transactions: Transactions,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {}

  async handle(_data: PayloadOf<JobName.InventoryTick>): Promise<void> {
    const now = this.clock.now();
    const again: JobPayload[] = [];
    await this.transactions.run(async (tx) => {
      const silent = await this.inventory.lockSilent(tx, now, INVENTORY_SILENCE_SECONDS);
      const spent: string[] = [];
      for (const run of silent) {
        const current: JobPayload = { name: JobName.InventoryRun, data: { runId: run.id, generation: run.generation } };
        if (LIVE.has(await this.jobs.state(current))) continue;
        if (run.attempts >= INVENTORY_ATTEMPTS) {
          spent.push(run.id);
          continue;
        }
        await this.inventory.requeue(tx, run.id, run.generation + 1, now);
        again.push({ name: JobName.InventoryRun, data: { runId: run.id, generation: run.generation + 1 } });
      }
      await this.inventory.failSilent(tx, spent, now);
    });
    // After the commit; a failed enqueue leaves the run silent, and the next tick tries again.
    await this.jobs.enqueueMany(again);
  }
}
