import { Module } from '@nestjs/common';
import { CampaignTickHandler } from './campaign-tick.handler';
import { CampaignsService } from './campaigns.service';

/** Campaigns: creation and progress (API), the wave tick (worker). */
@Module({
  providers: [CampaignsService, CampaignTickHandler],
  exports: [CampaignsService, CampaignTickHandler],
})
export class CampaignsModule {}
