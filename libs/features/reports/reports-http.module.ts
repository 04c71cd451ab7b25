import { Module } from '@nestjs/common';
import { SigningModule } from '../signing/signing.module';
import { SigningKeysController } from '../signing/signing-keys.controller';
import { WellKnownController } from '../signing/well-known.controller';
import { ReportsController } from './reports.controller';
import { ReportsModule } from './reports.module';

@Module({
  imports: [ReportsModule, SigningModule],
  controllers: [ReportsController, WellKnownController, SigningKeysController],
})
export class ReportsHttpModule {}
