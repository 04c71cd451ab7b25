import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { Type } from 'class-transformer';
import { NestedObject } from '@keyshift/common';
import { ClientTags, TargetDto } from '../clients/clients.dto';

/** The most clients one import request brings in (they are read from the server one by one). */
export const MAX_IMPORT = 1000;

/** POST /v1/authorization-servers/{id}/inventory/{runId}/import */
export class ImportInventoryDto {
  @ApiProperty({ type: [String], description: `client_ids from the run, at most ${MAX_IMPORT}.` })
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IMPORT)
  @MinLength(1, { each: true })
  @MaxLength(256, { each: true })
  @IsArray()
  @IsString({ each: true })
  clientIds!: string[];

  @ApiProperty({ type: TargetDto })
  @NestedObject(() => TargetDto)
  @IsDefined()
  target!: TargetDto;

  @ApiPropertyOptional({ example: 'team-payments' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  @IsString()
  owner?: string;

  @ApiPropertyOptional({ type: [String], description: 'Tags for every imported client (same rules as client tags).' })
  @IsOptional()
  @ClientTags()
  tags?: string[];
}

/** GET /v1/authorization-servers/{id}/inventory/{runId}: a page of the run's clients. */
export class InventoryQueryDto {
  @ApiPropertyOptional({ type: 'integer', default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(500)
  @IsInt()
  limit?: number;

  // Longer than other cursors: it carries a vendor's client_id, which may be a URL.
  @ApiPropertyOptional({ maxLength: 2048, description: 'The nextCursor of the previous page.' })
  @IsOptional()
  @MaxLength(2048)
  @IsString()
  cursor?: string;
}
