import IORedis from 'ioredis';
import { REDIS_URL, runtimeRoleOf, withAdmin } from './pg-admin';

export default async function globalTeardown(): Promise<void> {
  const runId = process.env.KEYSHIFT_TEST_RUN_ID;
  if (!runId) return;
  await withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${runId}%`,
    ]);
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    // Its databases are gone, so it owns nothing and holds no grants but its membership.
    await c.query(`DROP ROLE IF EXISTS "${runtimeRoleOf(runId)}"`);
  });
  const redis = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${runId}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
