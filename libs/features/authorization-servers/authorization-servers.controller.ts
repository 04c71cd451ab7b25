import { Body, Controller, Get, HttpCode, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { Principal } from '../api-tokens/principal';
import { ListQueryDto } from '@keyshift/common';
import {
  CreateAuthorizationServerDto,
  ReplaceAdminAccessDto,
  UpdateAuthorizationServerDto,
} from './authorization-servers.dto';
import { AuthorizationServersService } from './authorization-servers.service';

@ApiTags('authorization-servers')
@ApiBearerAuth()
@Controller('v1/authorization-servers')
export class AuthorizationServersController {
  constructor(private readonly servers: AuthorizationServersService) {}

  @Post()
  @MinRole(Role.Operator)
  create(@Body() body: CreateAuthorizationServerDto, @CurrentPrincipal() by: Principal) {
    return this.servers.create(body, by);
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.servers.list(query.limit, query.cursor);
  }

  @Get(':id')
  get(@IdParam() id: string) {
    return this.servers.get(id);
  }

  /** Changes the hosts the server's endpoints may be on; a new discovery follows. */
  @Patch(':id')
  @MinRole(Role.Operator)
  update(@IdParam() id: string, @Body() body: UpdateAuthorizationServerDto, @CurrentPrincipal() by: Principal) {
    return this.servers.update(id, body, by);
  }

  /** Replaces the admin API's URL, credential and call budget (admin-API connectors); the secret is never returned. */
  @Put(':id/admin-access')
  @MinRole(Role.Admin)
  replaceAdminAccess(@IdParam() id: string, @Body() body: ReplaceAdminAccessDto, @CurrentPrincipal() by: Principal) {
    return this.servers.replaceAdminAccess(id, body, by);
  }

  /** Re-reads the server's metadata in the background; GET the server to see the result. */
  @Post(':id/discover')
  @HttpCode(202)
  @MinRole(Role.Operator)
  discover(@IdParam() id: string) {
    return this.servers.requestDiscovery(id);
  }
}
