import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../api-tokens/auth.decorators';
import { ReportSigner } from './report-signer';

@ApiTags('reports')
@Public()
@Controller('.well-known')
export class WellKnownController {
  constructor(private readonly signer: ReportSigner) {}

  /** Keyshift's own public signing keys (active and retired): verify evidence packs against these. */
  @Get('jwks.json')
  @Header('Content-Type', 'application/jwk-set+json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks() {
    return this.signer.publicJwks();
  }
}
