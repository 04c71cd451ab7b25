import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { dataSourceOptions } from './data-source-options';
import { ReadSnapshots } from './read-snapshot';
import { Transactions } from './transactions';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [KEYSHIFT_CONFIG],
      useFactory: (config: KeyshiftConfig) => ({
        ...dataSourceOptions(config.database.url, config.database.poolSize),
        // Boot fails fast with the real error instead of TypeORM's silent retry loop.
        retryAttempts: 0,
      }),
    }),
  ],
  providers: [Transactions, ReadSnapshots],
  exports: [Transactions, ReadSnapshots],
})
export class DatabaseModule {}
