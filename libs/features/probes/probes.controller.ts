import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { Principal } from '../api-tokens/principal';
import { ListProbesQueryDto, RequestProbeDto, StartSweepDto } from './probes.dto';
import { ProbesService } from './probes.service';

@ApiTags('probes')
@ApiBearerAuth()
@Controller('v1')
export class ProbesController {
  constructor(private readonly probes: ProbesService) {}

  /** The client's probe evidence, newest first. */
  @Get('clients/:id/probes')
  list(@IdParam() id: string, @Query() query: ListProbesQueryDto) {
    return this.probes.list(id, query.limit, query.cursor);
  }

  /** Queues one token-endpoint probe of the client. */
  @Post('clients/:id/probes')
  @HttpCode(202)
  @MinRole(Role.Operator)
  request(@IdParam() id: string, @Body() body: RequestProbeDto, @CurrentPrincipal() by: Principal) {
    return this.probes.request(id, body, by);
  }

  /** Queues a probe of every matching client with its current secret method. */
  @Post('probes/sweeps')
  @HttpCode(202)
  @MinRole(Role.Operator)
  sweep(@Body() body: StartSweepDto, @CurrentPrincipal() by: Principal) {
    return this.probes.sweep(body, by);
  }

  @Get('probes/sweeps/:id')
  sweepStatus(@IdParam() id: string) {
    return this.probes.sweepStatus(id);
  }
}
