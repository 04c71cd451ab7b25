import { DataSource } from 'typeorm';

/** An arbitrary, fixed advisory-lock key: several API replicas booting at once migrate one at a time. */
const MIGRATION_LOCK_KEY = 7_310_231_001;

/** Applies pending migrations, each in its own transaction, under a Postgres advisory lock. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
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
