import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { KeyRotations } from './key-rotations.service';
import { RotationTrigger } from './key-rotation.entity';
import { effectivePolicy, ROTATION_PERIOD_DAYS_SQL, RotationPolicy, rotationDue } from './rotation-policy';

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rotations: KeyRotations,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.KeyRotationTick>): Promise<void> {
    await this.resumeDue();
    await this.startScheduled();
  }

  async resumeDue(): Promise<number> {
    const due = (await this.dataSource.query(
      `SELECT id, version, next_step_at FROM key_rotations
       WHERE status <> 'done' AND next_step_at IS NOT NULL AND next_step_at <= $1 ORDER BY next_step_at LIMIT $2`,
      [this.clock.now(), BATCH],
    )) as { id: string; version: number; next_step_at: Date }[];
    for (const r of due) await this.rotations.enqueueStep({ id: r.id, version: r.version, nextStepAt: r.next_step_at });
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
      const page = (await this.dataSource.query(
        `SELECT c.id, k.activated_at, c.rotation_policy AS client_policy, s.rotation_policy AS server_policy
         FROM client_keys k
         JOIN clients c ON c.id = k.client_row_id
         JOIN authorization_servers s ON s.id = c.authorization_server_id
         WHERE k.state = 'active' AND k.origin = 'managed' AND NOT c.paused
           AND k.activated_at <= $1::timestamptz - make_interval(days => ${ROTATION_PERIOD_DAYS_SQL})
           AND (k.activated_at, c.id) > ($2::timestamptz, $3::uuid)
           AND NOT EXISTS (SELECT 1 FROM key_rotations r WHERE r.client_row_id = c.id AND r.status <> 'done')
         ORDER BY k.activated_at, c.id
         LIMIT $4`,
        [now, after.activatedAt, after.id, BATCH],
      )) as {
        id: string;
        activated_at: Date;
        client_policy: RotationPolicy | null;
        server_policy: RotationPolicy | null;
      }[];
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
