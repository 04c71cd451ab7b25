import { Global, Module } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Clock, SystemClock } from './clock';
import { createLogger, LOGGER } from './logger';

/** The ports every feature may use: the clock and the root logger. */
@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    {
      provide: LOGGER,
      inject: [KEYSHIFT_CONFIG],
      useFactory: (config: KeyshiftConfig) => createLogger(config.log.level, 'keyshift'),
    },
  ],
  exports: [Clock, LOGGER],
})
export class CommonModule {}
