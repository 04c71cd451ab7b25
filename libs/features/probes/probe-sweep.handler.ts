import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Phase, probesNeeded } from '@keyshift/domain';
import { JobHandler, JobName, JobQueue, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { ClientSigningKeys } from './client-signing-keys';
import { ProbeMethod } from './probe.entity';
import { ProbesService, ServerProbeTarget } from './probes.service';

const BATCH = 2_000;

interface Row {
  id: string;
  authorization_server_id: string;
  auth_method: string;
  phase: Phase;
  target_sender_constraint: 'dpop' | 'none';
  secret_status: string;
  last_secret: Date | null;
  last_key: Date | null;
  last_dpop: Date | null;
}

/**
 * The scheduled evidence refresh: for every active client, the probes its phase's gate reads
 * (probesNeeded) whose latest result is older than the sweep interval are queued again.
 */
@Injectable()
export class ProbeSweepHandler implements JobHandler<JobName.ProbeSweep> {
  readonly name = JobName.ProbeSweep;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
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
      const rows = (await this.dataSource.query(
        `SELECT c.id, c.authorization_server_id, c.auth_method, c.phase, c.target_sender_constraint, c.secret_status,
           (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = c.auth_method AND NOT p.dpop) AS last_secret,
           (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = 'private_key_jwt' AND NOT p.dpop) AS last_key,
           (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = 'private_key_jwt' AND p.dpop) AS last_dpop
         FROM clients c
         WHERE c.id > $1 AND c.phase <> 'vendor_check' AND NOT c.paused
         ORDER BY c.id LIMIT $2`,
        [after, BATCH],
      )) as Row[];
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
