import { Client } from 'pg';

/**
 * Where tests create their databases. KEYSHIFT_TEST_PG_URL points at any database on the server
 * (default: the local `test` database, trust auth); each run gets databases of its own beside it.
 */
export const ADMIN_URL = process.env.KEYSHIFT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.KEYSHIFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A database on the test server, as the admin (a superuser: tamper tests, assertions) or as `user`. */
export function databaseUrl(name: string, user?: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  if (user) {
    url.username = user;
    url.password = '';
  }
  return url.toString();
}

/**
 * The run's login role for test apps: a member of `keyshift_runtime` (the grants of the migrations),
 * so tests run Keyshift as production does, neither owner nor superuser. Roles are cluster-wide,
 * hence one per run, dropped by global-teardown. Trust auth on the test server: no password.
 */
export function runtimeRoleOf(runId: string): string {
  return `${runId}_app`;
}

export async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
