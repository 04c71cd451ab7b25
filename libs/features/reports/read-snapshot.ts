import { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `fn` in one REPEATABLE READ READ ONLY transaction: every query a report makes sees the same
 * moment, so its summary, rows and chain head agree even while the estate keeps moving.
 */
export async function inReadSnapshot<T>(dataSource: DataSource, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return await fn(runner);
  } finally {
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.release();
  }
}
