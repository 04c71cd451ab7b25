import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { Principal } from '../api-tokens/principal';
import { ImportInventoryDto, InventoryQueryDto } from './inventory.dto';
import { InventoryService } from './inventory.service';

@ApiTags('authorization-servers')
@ApiBearerAuth()
@Controller('v1/authorization-servers/:id/inventory')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

  /** Lists every client at the server through its admin API, in the background; GET the run for the result. */
  @Post()
  @HttpCode(202)
  @MinRole(Role.Operator)
  start(@IdParam() id: string, @CurrentPrincipal() by: Principal) {
    return this.inventory.start(id, by);
  }

  /** The run, a summary of what it found (methods, secrets by age), and a page of its clients. */
  @Get(':runId')
  get(@IdParam() id: string, @IdParam('runId') runId: string, @Query() query: InventoryQueryDto) {
    return this.inventory.get(id, runId, query.cursor, query.limit ?? 50);
  }

  /** Brings chosen clients into Keyshift, their secrets read from the server where it allows. */
  @Post(':runId/import')
  @MinRole(Role.Operator)
  import(
    @IdParam() id: string,
    @IdParam('runId') runId: string,
    @Body() body: ImportInventoryDto,
    @CurrentPrincipal() by: Principal,
  ) {
    return this.inventory.import(id, runId, body, by);
  }
}
