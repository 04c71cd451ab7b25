import { Module } from '@nestjs/common';
import { JwksCache } from './jwks-cache';
import { KeysController } from './keys.controller';
import { KeysModule } from './keys.module';

/** The keys API, and the public JWKS documents the API serves from memory. */
@Module({ imports: [KeysModule], controllers: [KeysController], providers: [JwksCache], exports: [JwksCache] })
export class KeysHttpModule {}
