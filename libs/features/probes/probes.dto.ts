import { ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { ListClientsQueryDto } from '../clients/clients.dto';
import { ListQueryDto } from '@keyshift/common';
import { IsBoolean, IsEnum, IsOptional } from 'class-validator';
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

/** Which clients a sweep probes: the client list's filters (each probe uses the client's current method). */
export class StartSweepDto extends PickType(ListClientsQueryDto, [
  'authorizationServerId',
  'phase',
  'owner',
  'tag',
] as const) {}

export class ListProbesQueryDto extends ListQueryDto {}
