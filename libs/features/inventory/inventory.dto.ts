import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
} from 'class-validator';
import { NestedObject } from '@keyshift/common';
import { TargetDto } from '../clients/clients.dto';

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
  @ArrayMaxSize(50)
  @IsArray()
  @IsString({ each: true })
  tags?: string[];
}
