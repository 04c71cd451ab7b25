import { randomBytes } from 'node:crypto';
import { KeyshiftConfig, loadConfig } from '@keyshift/config';
import { databaseUrl, REDIS_URL, runtimeRoleOf, withAdmin } from './pg-admin';

export interface TestDatabase {
  name: string;
  /** As the admin, a superuser: migrations, tamper tests and assertions behind the app's back. */
  url: string;
  /** As the run's runtime role (keyshift_runtime: no DDL, the audit log insert-only): what test apps use. */
  runtimeUrl: string;
  drop(): Promise<void>;
}

/** A fresh database cloned from the run's migrated template: private to the calling test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const runId = process.env.KEYSHIFT_TEST_RUN_ID!;
  // Random, not a counter: Jest reuses worker processes across files with fresh module state.
  const name = `${runId}_${randomBytes(5).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${process.env.KEYSHIFT_TEST_TEMPLATE_DB}"`));
  return {
    name,
    url: databaseUrl(name),
    runtimeUrl: databaseUrl(name, runtimeRoleOf(runId)),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A Redis key prefix private to one test file (cleaned up by global-teardown with the run). */
export function redisPrefix(): string {
  return `${process.env.KEYSHIFT_TEST_RUN_ID}-${randomBytes(5).toString('hex')}`;
}

/** The environment of a test Keyshift: private database and Redis prefix, random secrets, 127.0.0.1 (any port) allowlisted, quiet logs. */
export function testEnv(db: TestDatabase, env: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.runtimeUrl,
    KEYSHIFT_MIGRATION_DATABASE_URL: db.url,
    REDIS_URL,
    KEYSHIFT_REDIS_PREFIX: redisPrefix(),
    KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYSHIFT_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    // Test authorization servers (and Keyshift's own JWKS) listen on random loopback ports chosen
    // after the config is built, so tests use the explicit any-port form; production names host:port.
    KEYSHIFT_OUTBOUND_ALLOWLIST: '127.0.0.1:*',
    KEYSHIFT_LOG_LEVEL: process.env.KEYSHIFT_TEST_LOG_LEVEL ?? 'silent',
    KEYSHIFT_RUN_MIGRATIONS: 'false',
    // Suites that try bad tokens on every route would hit the failed-auth limit; its own test lowers it.
    KEYSHIFT_AUTH_FAILURES_PER_IP: '100000',
    ...env,
  };
}

/** Config for tests (see testEnv). */
export function testConfig(
  db: TestDatabase,
  env: Record<string, string> = {},
): KeyshiftConfig & { adminToken: string } {
  const raw = testEnv(db, env);
  return { ...loadConfig(raw), adminToken: raw.KEYSHIFT_ADMIN_TOKEN };
}
