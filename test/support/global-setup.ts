import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseUrl, runtimeRoleOf, withAdmin } from './pg-admin';

/**
 * Once per `jest` run: a run id, and a template database with every migration applied. Each test
 * file clones the template (CREATE DATABASE ... TEMPLATE), which takes milliseconds, so files never
 * share rows; Redis keys get the run id as prefix; test apps log in as the run's runtime role.
 * global-teardown drops all three.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `ks_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const template = `${runId}_tpl`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${template}"`));
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl(template),
    migrations: [join(__dirname, '..', '..', 'migrations', '*.ts')],
    migrationsTableName: 'typeorm_migrations',
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  // After the migrations, which create keyshift_runtime if missing.
  await withAdmin((c) => c.query(`CREATE ROLE "${runtimeRoleOf(runId)}" LOGIN IN ROLE keyshift_runtime`));
  process.env.KEYSHIFT_TEST_RUN_ID = runId;
  process.env.KEYSHIFT_TEST_TEMPLATE_DB = template;
}
