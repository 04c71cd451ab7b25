import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { nextCampaignMove } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { CampaignEntity, CampaignStatus } from './campaign.entity';
import { CampaignsRepository } from './campaigns.repository';

/**
 * Every few seconds, for each running campaign: count its waves, decide (nextCampaignMove), and
 * release the next wave, pause on too many failures, or complete. Each campaign is judged and
 * changed in one transaction under a row lock, so two workers never release the same wave twice.
 */
@Injectable()
export class CampaignTickHandler implements JobHandler<JobName.CampaignTick> {
  readonly name = JobName.CampaignTick;

  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.CampaignTick>): Promise<void> {
    for (const id of await this.campaigns.runningIds()) await this.judge(id);
  }

  async judge(campaignId: string): Promise<void> {
    await this.transactions.run(async (m) => {
      const campaign = await this.campaigns.lockRunning(m, campaignId);
      if (!campaign) return;
      // Members that finished a phase while their wave was not yet released are parked; wake them.
      if (campaign.releasedWave >= 0) await this.campaigns.wakeMembers(m, campaign.id, campaign.releasedWave);
      const move = nextCampaignMove({ ...campaign, waves: await this.campaigns.waveTallies(campaign.id, m) });
      if (move.move === 'none') return;
      const now = this.clock.now();
      const change: Partial<CampaignEntity> =
        move.move === 'release'
          ? { releasedWave: move.wave }
          : move.move === 'pause'
            ? { status: CampaignStatus.Paused, pausedReason: move.reason }
            : { status: CampaignStatus.Completed, finishedAt: now };
      await this.campaigns.update(m, campaign.id, { ...change, version: campaign.version + 1, updatedAt: now });
      if (move.move === 'release') await this.campaigns.wakeMembers(m, campaign.id, move.wave);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.scheduler,
          action:
            move.move === 'release'
              ? 'campaign.wave_released'
              : move.move === 'pause'
                ? 'campaign.paused'
                : 'campaign.completed',
          subjectType: 'campaign',
          subjectId: campaign.id,
          after: { ...move },
        },
      ]);
      this.logger.info({ campaignId, ...move }, 'campaign moved');
    });
  }
}
