import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Phase } from '@keyshift/domain';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsEnum,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

export class CampaignSelectorDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  authorizationServerId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  owner?: string;

  @ApiPropertyOptional({ type: [String], description: 'Clients carrying every one of these tags.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  tags?: string[];

  @ApiPropertyOptional({ enum: Phase, description: 'Only clients now in this phase.' })
  @IsOptional()
  @IsEnum(Phase)
  phase?: Phase;
}

export class CreateCampaignDto {
  @ApiProperty({ example: 'payments estate, Q4' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ type: CampaignSelectorDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => CampaignSelectorDto)
  selector!: CampaignSelectorDto;

  @ApiProperty({ description: 'Clients in the first wave, which must pass before any other starts.', example: 5 })
  @IsInt()
  @Min(0)
  @Max(10_000)
  canarySize!: number;

  @ApiProperty({ example: 50 })
  @IsInt()
  @Min(1)
  @Max(100_000)
  waveSize!: number;

  @ApiProperty({
    description: 'Failed or blocked clients over released clients above which the campaign pauses itself (0 to 1).',
    example: 0.1,
  })
  @IsNumber()
  @Min(0)
  @Max(1)
  maxFailureRate!: number;

  @ApiPropertyOptional({
    description:
      "Requests per second the campaign may send to each authorization server; default: the server's probe rate.",
    example: 20,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  serverBudgetPerSecond?: number;
}

export class ResumeCampaignDto {
  @ApiPropertyOptional({ description: 'Raise (or lower) the maximum failure rate while resuming.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  maxFailureRate?: number;
}
