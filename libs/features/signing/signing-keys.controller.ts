import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Role } from '../api-tokens/api-token.entity';
import { CurrentPrincipal, MinRole } from '../api-tokens/auth.decorators';
import { actorOf, Principal } from '../api-tokens/principal';
import { ReportSigner } from './report-signer';

@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/signing-keys')
export class SigningKeysController {
  constructor(private readonly signer: ReportSigner) {}

  /** A new report-signing key; the old one stops signing but stays published (admin, audited). */
  @Post('rotate')
  @HttpCode(200)
  @MinRole(Role.Admin)
  rotate(@CurrentPrincipal() by: Principal) {
    return this.signer.rotate(actorOf(by));
  }
}
