import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { nextCampaignMove } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { CampaignEntity, CampaignStatus } from './campaign.entity';
import { waveTallies, wakeMembers } from './campaign-tallies';

/**
 * Every few seconds, for each running campaign: count its waves, decide (nextCampaignMove), and
 * release the next wave, pause on too many failures, or complete. Each campaign is judged and
 * changed in one transaction under a row lock, so two workers never release the same wave twice.
 */
@Injectable()
export class CampaignTickHandler implements JobHandler<JobName.CampaignTick> {
  readonly name = JobName.CampaignTick;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(_data: PayloadOf<JobName.CampaignTick>): Promise<void> {
    const running = (await this.dataSource.query(`SELECT id FROM campaigns WHERE status = 'running'`)) as {
      id: string;
    }[];
    for (const { id } of running) await this.judge(id);
  }

  async judge(campaignId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const campaign = await m
        .getRepository(CampaignEntity)
        .createQueryBuilder('k')
        .where('k.id = :id AND k.status = :running', { id: campaignId, running: CampaignStatus.Running })
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getOne();
      if (!campaign) return;
      // Members that finished a phase while their wave was not yet released are parked; wake them.
      if (campaign.releasedWave >= 0) await wakeMembers(m, campaign.id, campaign.releasedWave);
      const move = nextCampaignMove({ ...campaign, waves: await waveTallies(m, campaign.id) });
      if (move.move === 'none') return;
      const now = this.clock.now();
      const change: Partial<CampaignEntity> =
        move.move === 'release'
          ? { releasedWave: move.wave }
          : move.move === 'pause'
            ? { status: CampaignStatus.Paused, pausedReason: move.reason }
            : { status: CampaignStatus.Completed, finishedAt: now };
      await m
        .getRepository(CampaignEntity)
        .update({ id: campaign.id }, { ...change, version: campaign.version + 1, updatedAt: now });
      if (move.move === 'release') await wakeMembers(m, campaign.id, move.wave);
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
