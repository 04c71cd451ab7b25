import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { HostPort, parseHostPort } from './host-port';

/**
 * Every environment variable Keyshift reads, with its default. README.md documents the same list;
 * keep the two in step. Nothing outside libs/config reads process.env.
 */
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const postgresUrl = z
  .string()
  .url()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');
const redisUrl = z
  .string()
  .url()
  .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL');

/** 32 bytes, base64 or base64url encoded: the AES-256 key that wraps every per-record data key. */
const masterKey = z
  .string()
  .transform((v) => Buffer.from(v, 'base64'))
  .refine((b) => b.length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)');

/**
 * Comma-separated `host:port` entries Keyshift may reach over plain http or on loopback/private
 * addresses. A bare host means https on port 443 only; `host:*` (any port) is for tests and demos.
 */
const outboundAllowlist = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const entries: HostPort[] = [];
    for (const [i, text] of v.split(',').entries()) {
      if (text.trim() === '') continue;
      const parsed = parseHostPort(text, { wildcard: true });
      if ('problem' in parsed) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} ${parsed.problem}` });
        return z.NEVER;
      }
      entries.push(parsed);
    }
    return entries;
  });

export const envSchema = z.object({
  DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/keyshift'),
  /** The schema owner's connection, used only to apply migrations; the runtime's (DATABASE_URL) cannot. */
  KEYSHIFT_MIGRATION_DATABASE_URL: postgresUrl.optional(),
  KEYSHIFT_DB_POOL_SIZE: positiveInt.default(10),
  KEYSHIFT_RUN_MIGRATIONS: bool.default(true),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  KEYSHIFT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only')
    .default('keyshift'),
  KEYSHIFT_MASTER_KEY: masterKey,
  KEYSHIFT_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters (openssl rand -base64 32)'),
  KEYSHIFT_OUTBOUND_ALLOWLIST: outboundAllowlist,
  KEYSHIFT_OUTBOUND_TIMEOUT_MS: positiveInt.default(5000),
  KEYSHIFT_OUTBOUND_MAX_RESPONSE_BYTES: positiveInt.default(1024 * 1024),
  KEYSHIFT_DISCOVERY_MAX_AGE_SECONDS: positiveInt.default(3600),
  KEYSHIFT_DISCOVERY_RECHECK_SECONDS: positiveInt.default(10),
  KEYSHIFT_PHASE_MAX_ATTEMPTS: positiveInt.default(10),
  KEYSHIFT_PROBE_RATE_PER_SECOND: positiveInt.default(20),
  KEYSHIFT_PROBE_CONCURRENCY: positiveInt.default(8),
  KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS: positiveInt.default(900),
  KEYSHIFT_PROBE_MAX_BACKOFF_SECONDS: positiveInt.default(60),
  KEYSHIFT_API_HOST: z.string().min(1).default('127.0.0.1'),
  KEYSHIFT_API_PORT: port.default(3000),
  KEYSHIFT_PUBLIC_URL: z.string().url().optional(),
  KEYSHIFT_BODY_LIMIT_BYTES: positiveInt.default(16 * 1024 * 1024),
  KEYSHIFT_IMPORT_MAX_ROWS: positiveInt.default(10_000),
  /** Imports one API process runs at once, per API token and in all (each holds its whole body in memory). */
  KEYSHIFT_IMPORT_CONCURRENCY_PER_TOKEN: positiveInt.default(2),
  KEYSHIFT_IMPORT_CONCURRENCY: positiveInt.default(4),
  /** Failed bearer tokens one client IP may present per window before it gets 429 until the window ends. */
  KEYSHIFT_AUTH_FAILURES_PER_IP: positiveInt.default(20),
  KEYSHIFT_AUTH_FAILURE_WINDOW_SECONDS: positiveInt.default(60),
  /**
   * Which proxies' X-Forwarded-For Keyshift believes (Fastify's trustProxy): empty = none, the
   * socket's address is the caller; a number = that many hops; else addresses or CIDRs, comma-separated.
   */
  KEYSHIFT_TRUST_PROXY: z
    .string()
    .default('')
    .transform((v, ctx): false | number | string[] => {
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      if (!entries.length) return false;
      if (entries.length === 1 && /^\d+$/.test(entries[0])) return Number(entries[0]);
      const bad = entries.findIndex((e) => !isAddressOrCidr(e));
      if (bad >= 0) {
        ctx.addIssue({ code: 'custom', message: `entry ${bad + 1} is not an IP address or CIDR range` });
        return z.NEVER;
      }
      return entries;
    }),
  KEYSHIFT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYSHIFT_RECONCILE_INTERVAL_SECONDS: positiveInt.default(5),
  KEYSHIFT_RECONCILE_BATCH_SIZE: positiveInt.default(500),
  KEYSHIFT_LEASE_SECONDS: positiveInt.default(300),
  KEYSHIFT_WORKER_CONCURRENCY: positiveInt.default(10),
  KEYSHIFT_SOAK_MIN_SUCCESSES: positiveInt.default(3),
  KEYSHIFT_SOAK_MIN_SECONDS: z.coerce.number().int().min(0).default(3600),
  KEYSHIFT_SOAK_INTERVAL_SECONDS: positiveInt.default(300),
  KEYSHIFT_EVIDENCE_RECHECK_SECONDS: positiveInt.default(30),
  KEYSHIFT_CAMPAIGN_TICK_SECONDS: positiveInt.default(5),
  KEYSHIFT_JWKS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
  KEYSHIFT_KEY_OVERLAP_MARGIN_SECONDS: z.coerce.number().int().min(0).default(60),
  KEYSHIFT_KEY_ROTATION_TICK_SECONDS: positiveInt.default(30),
  KEYSHIFT_KEY_CHALLENGE_SECONDS: positiveInt.default(300),
  KEYSHIFT_REPORT_RETENTION_HOURS: positiveInt.default(24),
  KEYSHIFT_REPORT_TICK_SECONDS: positiveInt.default(60),
  // At most 500 h: the schedule's timer must stay under 2^31 ms.
  KEYSHIFT_AUDIT_FULL_VERIFY_HOURS: positiveInt.max(500).default(24),
});

export type RawEnv = Record<string, string | undefined>;

function isAddressOrCidr(entry: string): boolean {
  if (ipaddr.isValid(entry)) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}
