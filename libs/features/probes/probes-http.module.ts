import { Module } from '@nestjs/common';
import { ProbesController } from './probes.controller';
import { ProbesModule } from './probes.module';

@Module({ imports: [ProbesModule], controllers: [ProbesController] })
export class ProbesHttpModule {}
