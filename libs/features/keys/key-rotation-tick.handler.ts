import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { KeyRotations } from './key-rotations.service';
import { RotationTrigger } from './key-rotation.entity';
import { KeysRepository } from './keys.repository';
import { effectivePolicy, rotationDue } from './rotation-policy';

const BATCH = 500;

/**
 * The rotation schedule's fan-out. Re-queues every rotation whose next step is due (after a worker
 * was killed, Redis lost its jobs, or a backoff ran out), and starts a rotation for every client
 * whose active managed key is older than its policy's period, within the policy's window.
 */
@Injectable()
export class KeyRotationTickHandler implements JobHandler<JobName.KeyRotationTick> {
  readonly name = JobName.KeyRotationTick;

  constructor(
    private readonly keys: KeysRepository,
    private readonly rotations: KeyRotations,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.KeyRotationTick>): Promise<void> {
    await this.resumeDue();
    await this.startScheduled();
  }

  async resumeDue(): Promise<number> {
    const due = await this.keys.dueRotations(this.clock.now(), BATCH);
    for (const r of due) await this.rotations.enqueueStep(r);
    return due.length;
  }

  async startScheduled(): Promise<number> {
    const now = this.clock.now();
    let started = 0;
    // Oldest keys first, page by page: clients outside their window must not crowd out the rest.
    let after: { activatedAt: Date; id: string } = {
      activatedAt: new Date(0),
      id: '00000000-0000-0000-0000-000000000000',
    };
    for (;;) {
      // The SQL narrows by the period; the window (a cron expression) is checked here.
      const page = await this.keys.scheduledRotationCandidates(now, after, BATCH);
      for (const c of page) {
        if (!rotationDue(c.activated_at, effectivePolicy(c.client_policy, c.server_policy), now)) continue;
        try {
          await this.rotations.start(c.id, { trigger: RotationTrigger.Schedule }, SYSTEM_ACTORS.scheduler);
          started++;
        } catch (error) {
          this.logger.warn({ clientRowId: c.id, err: (error as Error).message }, 'scheduled rotation not started');
        }
      }
      if (page.length < BATCH) return started;
      const last = page[page.length - 1];
      after = { activatedAt: last.activated_at, id: last.id };
    }
  }
}
