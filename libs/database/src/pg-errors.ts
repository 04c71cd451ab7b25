/** The name of the unique constraint a Postgres error violated, or null for any other error. */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const pg = e?.driverError ?? e;
  return pg?.code === '23505' ? (pg.constraint ?? 'unknown') : null;
}
