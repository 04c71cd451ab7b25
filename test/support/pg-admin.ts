import { Client } from 'pg';

/**
 * Where tests create their databases. KEYSHIFT_TEST_PG_URL points at any database on the server
 * (default: the local `test` database, trust auth); each run gets databases of its own beside it.
 */
export const ADMIN_URL = process.env.KEYSHIFT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.KEYSHIFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
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
