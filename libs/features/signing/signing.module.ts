import { Module } from '@nestjs/common';
import { KeyGenerator, NodeKeyGenerator } from '../keys/key-generator';
import { ReportSigner } from './report-signer';

/** Keyshift's own signing key for evidence packs; used by the API (client packs) and the worker (campaign packs). */
@Module({
  providers: [{ provide: KeyGenerator, useClass: NodeKeyGenerator }, ReportSigner],
  exports: [ReportSigner],
})
export class SigningModule {}
