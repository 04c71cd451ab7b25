import { Module } from '@nestjs/common';
import { CampaignsController } from './campaigns.controller';
import { CampaignsModule } from './campaigns.module';

@Module({ imports: [CampaignsModule], controllers: [CampaignsController] })
export class CampaignsHttpModule {}
