import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '@keyshift/config';
import { dataSourceOptions } from './data-source-options';

/**
 * For the TypeORM CLI (`npm run migration:*`). Connects as the schema owner
 * (KEYSHIFT_MIGRATION_DATABASE_URL, else DATABASE_URL) through the same validated config; the master
 * key and admin token are not needed for schema work, so placeholders stand in.
 */
const config = loadConfig({
  KEYSHIFT_MASTER_KEY: Buffer.alloc(32).toString('base64'),
  KEYSHIFT_ADMIN_TOKEN: 'x'.repeat(32),
  ...process.env,
});

export default new DataSource(dataSourceOptions(config.database.migrationUrl));
