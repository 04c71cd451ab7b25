import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsoDateTime, ListQueryDto } from '@keyshift/common';
import { VerifyMode } from './audit-checkpoint.entity';

const VERIFY_MODES: readonly VerifyMode[] = ['incremental', 'full'];

export class ListAuditEventsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ example: 'client' })
  @IsOptional()
  @MaxLength(100)
  @IsString()
  subjectType?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @MaxLength(200)
  @IsString()
  subjectId?: string;

  @ApiPropertyOptional({ example: 'client.advance' })
  @IsOptional()
  @MaxLength(100)
  @IsString()
  action?: string;

  @ApiPropertyOptional({ example: 'api-token:bootstrap-admin' })
  @IsOptional()
  @MaxLength(200)
  @IsString()
  actor?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or after this time.' })
  @IsOptional()
  @IsoDateTime()
  since?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events before this time.' })
  @IsOptional()
  @IsoDateTime()
  until?: Date;
}

export class VerifyAuditQueryDto {
  @ApiPropertyOptional({
    enum: VERIFY_MODES,
    default: 'incremental',
    description:
      'incremental: from the newest checkpoint (re-checking its event), so only events since are walked; ' +
      'full: from the genesis, which also catches edits before the checkpoint.',
  })
  @IsOptional()
  @IsIn(VERIFY_MODES)
  mode?: VerifyMode;
}
