import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Phase, probesNeeded } from '@keyshift/domain';
import { JobHandler, JobName, JobQueue, PayloadOf } from '@keyshift/queue';
import { ClientSigningKeys } from './client-signing-keys';
import { ProbeMethod } from './probe.entity';
import { ProbesRepository } from './probes.repository';
import { ProbesService, ServerProbeTarget } from './probes.service';

const BATCH = 2_000;

/**
 * The scheduled evidence refresh: for every active client, the probes its phase's gate reads
 * (probesNeeded) whose latest result is older than the sweep interval are queued again.
 */
@Injectable()
export class ProbeSweepHandler implements JobHandler<JobName.ProbeSweep> {
  readonly name = JobName.ProbeSweep;

  constructor(
    private readonly repository: ProbesRepository,
    private readonly queue: JobQueue,
    private readonly probes: ProbesService,
    private readonly keys: ClientSigningKeys,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async handle(_data: PayloadOf<JobName.ProbeSweep>): Promise<void> {
    await this.sweep();
  }

  async sweep(): Promise<number> {
    const staleBefore = new Date(this.clock.now().getTime() - this.config.probes.sweepIntervalSeconds * 1000);
    let after = '00000000-0000-0000-0000-000000000000';
    let queued = 0;
    for (;;) {
      const rows = await this.repository.sweepPage(after, BATCH);
      if (rows.length === 0) return queued;
      // Grouped by phase, which each probe records as its purpose.
      const byPhase = new Map<Phase, ServerProbeTarget[]>();
      // Asked for the whole page at once, so the batched reader answers in a query per 500, not one per client.
      const signable = await Promise.all(rows.map((c) => this.keys.canSign(c.id)));
      for (const [i, c] of rows.entries()) {
        for (const need of probesNeeded(c.phase, c.target_sender_constraint)) {
          const last = need.credential === 'secret' ? c.last_secret : need.dpop ? c.last_dpop : c.last_key;
          if (last && last > staleBefore) continue;
          if (need.credential === 'secret' && c.secret_status !== 'present') continue;
          if (need.credential === 'key' && !signable[i]) continue;
          const targets = byPhase.get(c.phase) ?? byPhase.set(c.phase, []).get(c.phase)!;
          targets.push({
            serverId: c.authorization_server_id,
            clientRowId: c.id,
            method: need.credential === 'secret' ? (c.auth_method as ProbeMethod) : ProbeMethod.PrivateKeyJwt,
            dpop: need.dpop,
          });
        }
      }
      for (const [phase, targets] of byPhase) {
        await this.queue.enqueueMany(await this.probes.jobs(targets, `phase:${phase}`, null));
        queued += targets.length;
      }
      after = rows[rows.length - 1].id;
    }
  }
}
