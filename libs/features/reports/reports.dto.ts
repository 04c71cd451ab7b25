import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { NestedObject } from '@keyshift/common';
import { IsEnum, IsIn, IsOptional, IsUUID, ValidateIf } from 'class-validator';
import { ListClientsQueryDto } from '../clients/clients.dto';
import { ReportFormat, ReportKind } from './report.entity';

/** The client list's filters (and their validation), minus paging and state. */
export class EstateFilterDto extends PickType(ListClientsQueryDto, [
  'authorizationServerId',
  'owner',
  'tags',
  'tag',
  'phase',
]) {}

export const ESTATE_FORMATS = [ReportFormat.Json, ReportFormat.Csv, ReportFormat.Pdf] as const;
export type EstateFormat = (typeof ESTATE_FORMATS)[number];

export class EstateReportQueryDto extends EstateFilterDto {
  @ApiPropertyOptional({
    enum: ESTATE_FORMATS,
    default: 'json',
    description: 'json and csv stream at once; pdf is produced by the worker (202, then GET /v1/reports/{id}).',
  })
  @IsOptional()
  @IsIn(ESTATE_FORMATS)
  format?: EstateFormat;

  @ApiPropertyOptional({
    enum: ['clients', 'summary'],
    default: 'clients',
    description: 'csv only: the client table, or the summary.',
  })
  @IsOptional()
  @IsIn(['clients', 'summary'])
  section?: 'clients' | 'summary';
}

/** A report for the worker to produce: the estate in any format, or a campaign's evidence pack. */
export class RequestReportDto {
  @ApiProperty({ enum: ReportKind })
  @IsEnum(ReportKind)
  kind!: ReportKind;

  @ApiPropertyOptional({ enum: ESTATE_FORMATS, description: 'estate only (default json); campaign packs are JWS.' })
  @ValidateIf((o: RequestReportDto) => o.kind === ReportKind.Estate && o.format !== undefined)
  @IsIn(ESTATE_FORMATS)
  format?: EstateFormat;

  @ApiPropertyOptional({ type: EstateFilterDto })
  @ValidateIf((o: RequestReportDto) => o.kind === ReportKind.Estate && o.filter !== undefined)
  @NestedObject(() => EstateFilterDto)
  filter?: EstateFilterDto;

  @ApiPropertyOptional({ enum: ['clients', 'summary'] })
  @IsOptional()
  @IsIn(['clients', 'summary'])
  section?: 'clients' | 'summary';

  @ApiPropertyOptional({ format: 'uuid', description: 'campaign_evidence only.' })
  @ValidateIf((o: RequestReportDto) => o.kind === ReportKind.CampaignEvidence)
  @IsUUID()
  campaignId?: string;
}
