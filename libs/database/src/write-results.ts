import { EntityManager } from 'typeorm';

/**
 * Runs an UPDATE or DELETE (optionally with RETURNING) through TypeORM's postgres driver, which
 * answers those with `[rows, rowCount]` rather than the rows alone.
 */
export async function write<T = unknown>(
  manager: EntityManager,
  sql: string,
  params: unknown[],
): Promise<{ rows: T[]; count: number }> {
  const [rows, count] = (await manager.query(sql, params)) as [T[], number];
  return { rows, count };
}
