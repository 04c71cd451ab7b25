import { ApiPropertyOptional } from '@nestjs/swagger';
import { ListQueryDto } from '@keyshift/common';
import { Phase } from '@keyshift/domain';
import { IsBoolean, IsEnum, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { ProbeMethod } from './probe.entity';

export class RequestProbeDto {
  @ApiPropertyOptional({ enum: ProbeMethod, description: "Defaults to the client's current auth method." })
  @IsOptional()
  @IsEnum(ProbeMethod)
  method?: ProbeMethod;

  @ApiPropertyOptional({
    default: false,
    description: 'Send a DPoP proof (RFC 9449) and record whether the token is bound.',
  })
  @IsOptional()
  @IsBoolean()
  dpop?: boolean;
}

/** Which clients a sweep probes (all filters optional; each probe uses the client's current method). */
export class StartSweepDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  authorizationServerId?: string;

  @ApiPropertyOptional({ enum: Phase })
  @IsOptional()
  @IsEnum(Phase)
  phase?: Phase;

  @ApiPropertyOptional()
  @IsOptional()
  @MaxLength(200)
  @IsString()
  owner?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @MaxLength(64)
  @IsString()
  tag?: string;
}

export class ListProbesQueryDto extends ListQueryDto {}
