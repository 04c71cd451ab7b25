import { DataSource, DataSourceOptions } from 'typeorm';

/** An arbitrary, fixed advisory-lock key: several API replicas booting at once migrate one at a time. */
const MIGRATION_LOCK_KEY = 7_310_231_001;

/**
 * Applies pending migrations, each in its own transaction, under a Postgres advisory lock. The
 * runtime's role may not change the schema, so given the owner's URL (KEYSHIFT_MIGRATION_DATABASE_URL)
 * this opens a short-lived connection as the owner for the migrations and closes it after.
 */
export async function runMigrations(dataSource: DataSource, ownerUrl?: string): Promise<string[]> {
  const options = dataSource.options as Extract<DataSourceOptions, { type: 'postgres' }>;
  if (!ownerUrl || ownerUrl === options.url) return migrate(dataSource);
  const owner = await new DataSource({
    ...options,
    url: ownerUrl,
    // Two: one holds the advisory lock while the other runs the migrations.
    extra: { ...options.extra, max: 2, application_name: 'keyshift-migrations' },
  }).initialize();
  try {
    return await migrate(owner);
  } finally {
    await owner.destroy();
  }
}

async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}
