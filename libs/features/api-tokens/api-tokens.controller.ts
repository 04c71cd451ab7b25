import { Body, Controller, Delete, Get, Post } from '@nestjs/common';
import { IdParam } from '@keyshift/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Role } from './api-token.entity';
import { ApiTokensService } from './api-tokens.service';
import { CreateApiTokenDto } from './api-tokens.dto';
import { CurrentPrincipal, MinRole } from './auth.decorators';
import { Principal } from './principal';

@ApiTags('api-tokens')
@ApiBearerAuth()
@MinRole(Role.Admin)
@Controller('v1/api-tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  /** The response carries the token once; Keyshift keeps only its hash. */
  @Post()
  create(@Body() body: CreateApiTokenDto, @CurrentPrincipal() by: Principal) {
    return this.tokens.create(body.name, body.role, by);
  }

  @Get()
  list() {
    return this.tokens.list();
  }

  @Delete(':id')
  revoke(@IdParam() id: string, @CurrentPrincipal() by: Principal) {
    return this.tokens.revoke(id, by);
  }
}
