import { DynamicModule, Global, Module } from '@nestjs/common';
import { KeyshiftConfig } from './keyshift-config';

/** Injection token for the validated configuration object. */
export const KEYSHIFT_CONFIG = Symbol('KEYSHIFT_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: KeyshiftConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: KEYSHIFT_CONFIG, useValue: config }],
      exports: [KEYSHIFT_CONFIG],
    };
  }
}
