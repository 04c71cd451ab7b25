import { Body, Controller, Get, Header, HttpCode, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IdParam } from '@keyshift/common';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { Principal } from '../api-tokens/principal';
import { ExportKeyDto, RegisterOwnKeyDto, RotateKeyDto, RotationPolicyDto } from './keys.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  /** The client's keys (public members only), its JWKS URL, its latest rotation and rotation policy. */
  @Get('clients/:id/keys')
  list(@IdParam() id: string) {
    return this.keys.list(id);
  }

  /** Starts a rotation now (the first one creates the client's first key), or resumes a failed one. */
  @Post('clients/:id/keys/rotate')
  @HttpCode(202)
  @MinRole(Role.Operator)
  rotate(@IdParam() id: string, @Body() body: RotateKeyDto, @CurrentPrincipal() by: Principal) {
    return this.keys.rotate(id, body, by);
  }

  /** The private key, for the workload that signs with it. Admin only, audited, never cached. */
  @Post('clients/:id/keys/:keyId/export')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @MinRole(Role.Admin)
  export(
    @IdParam() id: string,
    @IdParam('keyId') keyId: string,
    @Body() body: ExportKeyDto,
    @CurrentPrincipal() by: Principal,
  ) {
    return this.keys.export(id, keyId, body, by);
  }

  /** A single-use nonce for a bring-your-own key's proof of possession. */
  @Post('clients/:id/keys/challenges')
  @MinRole(Role.Operator)
  challenge(@IdParam() id: string) {
    return this.keys.challenge(id);
  }

  /**
   * Registers a workload-held key by its public JWK and a signed challenge; it starts pending, and
   * so published. Admin only: a published key is a credential the server will accept.
   */
  @Post('clients/:id/keys')
  @MinRole(Role.Admin)
  registerOwnKey(@IdParam() id: string, @Body() body: RegisterOwnKeyDto, @CurrentPrincipal() by: Principal) {
    return this.keys.registerOwnKey(id, body, by);
  }

  @Put('clients/:id/rotation-policy')
  @MinRole(Role.Operator)
  setClientPolicy(@IdParam() id: string, @Body() body: RotationPolicyDto, @CurrentPrincipal() by: Principal) {
    return this.keys.setClientPolicy(id, body, by);
  }

  @Put('authorization-servers/:id/rotation-policy')
  @MinRole(Role.Operator)
  setServerPolicy(@IdParam() id: string, @Body() body: RotationPolicyDto, @CurrentPrincipal() by: Principal) {
    return this.keys.setServerPolicy(id, body, by);
  }
}
