import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IdParam, ListQueryDto } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { Principal } from '../api-tokens/principal';
import { CreateCampaignDto, CreateCampaignQueryDto, ResumeCampaignDto } from './campaigns.dto';
import { CampaignsService } from './campaigns.service';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class CampaignsController {
  constructor(private readonly campaigns: CampaignsService) {}

  /** 201 with the campaign; with ?dryRun=true, 200 with the members it would take and nothing created. */
  @Post()
  @MinRole(Role.Operator)
  async create(
    @Body() body: CreateCampaignDto,
    @Query() query: CreateCampaignQueryDto,
    @CurrentPrincipal() by: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (!query.dryRun) return this.campaigns.create(body, by);
    reply.status(200);
    return this.campaigns.preview(body);
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.campaigns.list(query.limit, query.cursor);
  }

  /** Progress by phase and state, per wave, the failure rate, and which clients failed and why. */
  @Get(':id')
  get(@IdParam() id: string) {
    return this.campaigns.get(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @MinRole(Role.Operator)
  pause(@IdParam() id: string, @CurrentPrincipal() by: Principal) {
    return this.campaigns.pause(id, by);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @MinRole(Role.Operator)
  resume(@IdParam() id: string, @Body() body: ResumeCampaignDto, @CurrentPrincipal() by: Principal) {
    return this.campaigns.resume(id, body, by);
  }
}
