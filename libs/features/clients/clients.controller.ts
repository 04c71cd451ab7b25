import { Body, Controller, Get, HttpCode, Post, Put, Query, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { actorOf, Principal } from '../api-tokens/principal';
import { ClientImportService } from './client-import.service';
import { ImportConcurrency } from './import-concurrency';
import { ClientTransitions } from './client-transitions.service';
import {
  ConfirmCutoverDto,
  CreateClientDto,
  ImportQueryDto,
  ListClientsQueryDto,
  ReplaceRegistrationAccessTokenDto,
  TransitionDto,
} from './clients.dto';
import { ClientsService } from './clients.service';
import { ServerChangeConfirmations } from './server-change-confirmations';
import { RegistrationTokenReplacements } from './registration-token-replacements';

@ApiTags('clients')
@ApiBearerAuth()
@Controller('v1/clients')
export class ClientsController {
  constructor(
    private readonly clients: ClientsService,
    private readonly imports: ClientImportService,
    private readonly transitions: ClientTransitions,
    private readonly serverChanges: ServerChangeConfirmations,
    private readonly registrationTokens: RegistrationTokenReplacements,
  ) {}

  @Post()
  @MinRole(Role.Operator)
  create(@Body() body: CreateClientDto, @CurrentPrincipal() by: Principal) {
    return this.clients.create(body, by);
  }

  /** JSON array of POST /v1/clients bodies, or text/csv with the same field names as headers. */
  @Post('import')
  @HttpCode(200)
  @MinRole(Role.Operator)
  @UseInterceptors(ImportConcurrency)
  @ApiConsumes('application/json', 'text/csv')
  @ApiBody({
    schema: { oneOf: [{ type: 'array', items: { $ref: '#/components/schemas/CreateClientDto' } }, { type: 'string' }] },
  })
  import(@Body() body: unknown, @Query() query: ImportQueryDto, @CurrentPrincipal() by: Principal) {
    return this.imports.importBody(body, query.onError, by);
  }

  @Get()
  list(@Query() query: ListClientsQueryDto) {
    return this.clients.list(query);
  }

  @Get(':id')
  get(@IdParam() id: string) {
    return this.clients.get(id);
  }

  @Post(':id/advance')
  @HttpCode(200)
  @MinRole(Role.Operator)
  advance(@IdParam() id: string, @Body() body: TransitionDto, @CurrentPrincipal() by: Principal) {
    return this.transitions.apply(id, { type: 'advance', by: 'operator' }, actorOf(by), body);
  }

  @Post(':id/rollback')
  @HttpCode(200)
  @MinRole(Role.Operator)
  rollback(@IdParam() id: string, @Body() body: TransitionDto, @CurrentPrincipal() by: Principal) {
    return this.transitions.apply(id, { type: 'rollback' }, actorOf(by), body);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @MinRole(Role.Operator)
  pause(@IdParam() id: string, @Body() body: TransitionDto, @CurrentPrincipal() by: Principal) {
    return this.transitions.apply(id, { type: 'pause' }, actorOf(by), body);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @MinRole(Role.Operator)
  resume(@IdParam() id: string, @Body() body: TransitionDto, @CurrentPrincipal() by: Principal) {
    return this.transitions.apply(id, { type: 'resume' }, actorOf(by), body);
  }

  /**
   * For servers behind the manual connector: the operator made the change Keyshift asked for (see
   * registration.pendingChange). The phase's evidence probe still decides.
   */
  @Post(':id/server-change/confirm')
  @HttpCode(200)
  @MinRole(Role.Operator)
  confirmServerChange(@IdParam() id: string, @Body() body: ConfirmCutoverDto, @CurrentPrincipal() by: Principal) {
    return this.serverChanges.confirm(id, body.note, by);
  }

  @Post(':id/cutover/confirm')
  @HttpCode(200)
  @MinRole(Role.Operator)
  confirmCutover(@IdParam() id: string, @Body() body: ConfirmCutoverDto, @CurrentPrincipal() by: Principal) {
    return this.transitions.apply(id, { type: 'cutover_confirmed' }, actorOf(by), { auditDetail: { note: body.note } });
  }

  /**
   * After Keyshift reported a registration access token lost (`client.registration_answer_lost`):
   * store the one the server's administrator issued, then resume the client.
   */
  @Put(':id/registration-access-token')
  @MinRole(Role.Operator)
  replaceRegistrationAccessToken(
    @IdParam() id: string,
    @Body() body: ReplaceRegistrationAccessTokenDto,
    @CurrentPrincipal() by: Principal,
  ) {
    return this.registrationTokens.replace(id, body, by);
  }
}
