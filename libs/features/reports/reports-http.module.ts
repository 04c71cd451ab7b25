import { Module } from '@nestjs/common';
import { SigningModule } from '../signing/signing.module';
import { WellKnownController } from '../signing/well-known.controller';
import { ReportsController } from './reports.controller';
import { ReportsModule } from './reports.module';

@Module({ imports: [ReportsModule, SigningModule], controllers: [ReportsController, WellKnownController] })
export class ReportsHttpModule {}
