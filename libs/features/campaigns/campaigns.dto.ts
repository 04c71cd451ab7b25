import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Phase, PhaseState } from '@keyshift/domain';
import { NestedObject } from '@keyshift/common';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
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
} from 'class-validator';
import { CLIENT_FILTER_CRITERIA, ClientFilter } from '../ports/client-filter';

/** The selector fields that narrow a campaign; a selector must set at least one (see CampaignsService). */
export const SELECTOR_CRITERIA = CLIENT_FILTER_CRITERIA;

/**
 * Which clients a campaign takes: those matching every criterion given (the client filter, see
 * client-filter.ts), not completed and not in another open campaign. At least one is required.
 * The names are the client list's (GET /v1/clients), so a list and a campaign select alike:
 * `authorizationServerId`, `owner`, `tags`, `phase`, `state` are canonical; `tag` (one tag) is the
 * client list's older name, accepted here too and read as `tags: [tag]`.
 */
export class CampaignSelectorDto implements ClientFilter {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  authorizationServerId?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 255 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  owner?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 20,
    description: 'Clients carrying every one of these tags.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  tags?: string[];

  @ApiPropertyOptional({ deprecated: true, description: 'One tag: the older name for `tags` (still accepted).' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tag?: string;

  @ApiPropertyOptional({ enum: Phase, description: 'Only clients now in this phase.' })
  @IsOptional()
  @IsEnum(Phase)
  phase?: Phase;

  @ApiPropertyOptional({ enum: PhaseState, description: 'Only clients now in this state of their phase.' })
  @IsOptional()
  @IsEnum(PhaseState)
  state?: PhaseState;
}

export class CreateCampaignDto {
  @ApiProperty({ example: 'payments estate, Q4' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({
    type: CampaignSelectorDto,
    description: `At least one of ${SELECTOR_CRITERIA.join(', ')}: an empty selector would take the whole estate.`,
  })
  @IsDefined()
  @NestedObject(() => CampaignSelectorDto)
  selector!: CampaignSelectorDto;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: 10_000,
    description: 'Clients in the first wave, which must pass before any other starts.',
    example: 5,
  })
  @IsInt()
  @Min(0)
  @Max(10_000)
  canarySize!: number;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100_000, example: 50 })
  @IsInt()
  @Min(1)
  @Max(100_000)
  waveSize!: number;

  @ApiProperty({
    description: 'Failed or blocked clients over released clients above which the campaign pauses itself (0 to 1).',
    minimum: 0,
    maximum: 1,
    example: 0.1,
  })
  @IsNumber()
  @Min(0)
  @Max(1)
  maxFailureRate!: number;

  @ApiPropertyOptional({
    description:
      "Requests per second the campaign may send to each authorization server; default: the server's probe rate.",
    type: 'integer',
    minimum: 1,
    maximum: 10_000,
    example: 20,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  serverBudgetPerSecond?: number;
}

export class CreateCampaignQueryDto {
  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description:
      'true: create nothing; answer with the clients the campaign would take, counted per phase and per authorization server.',
  })
  @IsOptional()
  // Query strings are text: only the words true and false are booleans here.
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  dryRun?: boolean;
}

export class ResumeCampaignDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: 'Raise (or lower) the maximum failure rate while resuming.',
  })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  maxFailureRate?: number;
}
