import type { HostPort } from './host-port';
import { envSchema, RawEnv } from './config.schema';

/** The typed, validated configuration every module receives. Built once at boot. */
export interface KeyshiftConfig {
  /** `migrationUrl`: the schema owner, for migrations only; `url`: the runtime's restricted role. */
  database: { url: string; migrationUrl: string; poolSize: number; runMigrations: boolean };
  redis: { url: string; prefix: string };
  crypto: { masterKey: Buffer };
  /** Failed bearer tokens per client IP and window before the IP gets 429 (FailedAuthLimiter). */
  auth: { adminToken: string; failuresPerIp: number; failureWindowSeconds: number };
  /** Allowlist entries: a null port means https on 443 only, '*' any port (tests and demos). */
  outbound: { allowlist: readonly HostPort[]; timeoutMs: number; maxResponseBytes: number };
  api: {
    host: string;
    port: number;
    publicUrl: string;
    bodyLimitBytes: number;
    importMaxRows: number;
    /** Imports running at once in one API process: per API token, and in all (ImportConcurrency). */
    importConcurrencyPerToken: number;
    importConcurrency: number;
    /** Proxies whose X-Forwarded-For names the caller (KEYSHIFT_TRUST_PROXY); false: none. */
    trustProxy: false | number | string[];
  };
  log: { level: string };
  reconcile: {
    intervalSeconds: number;
    batchSize: number;
    leaseSeconds: number;
    concurrency: number;
    maxAttempts: number;
  };
  soak: { minSuccesses: number; minSeconds: number; intervalSeconds: number };
  /** When negative evidence (a key not yet accepted, a secret still working) is looked at again. */
  evidenceRecheckSeconds: number;
  campaigns: { tickSeconds: number };
  discovery: { maxAgeSeconds: number; recheckSeconds: number };
  keys: {
    /** Cache-Control max-age of the public JWKS. */
    jwksMaxAgeSeconds: number;
    overlapMarginSeconds: number;
    rotationTickSeconds: number;
    /** How long a BYOK proof-of-possession challenge stays usable. */
    challengeSeconds: number;
  };
  audit: {
    /** How often the worker walks the whole audit chain (its outcome goes into the estate report). */
    fullVerifyHours: number;
  };
  reports: {
    /** How long a report produced by the worker stays downloadable. */
    retentionHours: number;
    /** How often the worker deletes expired reports and re-queues reports whose job was lost. */
    tickSeconds: number;
  };
  probes: {
    defaultRatePerSecond: number;
    defaultConcurrency: number;
    sweepIntervalSeconds: number;
    maxBackoffSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** The phase gates' tunables, from configuration. */
export function gatePolicyOf(config: KeyshiftConfig): {
  soak: KeyshiftConfig['soak'];
  recheckSeconds: number;
  maxAttempts: number;
} {
  return {
    soak: config.soak,
    recheckSeconds: config.evidenceRecheckSeconds,
    maxAttempts: config.reconcile.maxAttempts,
  };
}

/** Validates the environment into a KeyshiftConfig, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: RawEnv): KeyshiftConfig {
  // Empty strings count as unset, so `FOO= npm start` falls back to the default rather than failing.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
      })),
    );
  }
  const e = parsed.data;
  return {
    database: {
      url: e.DATABASE_URL,
      migrationUrl: e.KEYSHIFT_MIGRATION_DATABASE_URL ?? e.DATABASE_URL,
      poolSize: e.KEYSHIFT_DB_POOL_SIZE,
      runMigrations: e.KEYSHIFT_RUN_MIGRATIONS,
    },
    redis: { url: e.REDIS_URL, prefix: e.KEYSHIFT_REDIS_PREFIX },
    crypto: { masterKey: e.KEYSHIFT_MASTER_KEY },
    auth: {
      adminToken: e.KEYSHIFT_ADMIN_TOKEN,
      failuresPerIp: e.KEYSHIFT_AUTH_FAILURES_PER_IP,
      failureWindowSeconds: e.KEYSHIFT_AUTH_FAILURE_WINDOW_SECONDS,
    },
    outbound: {
      allowlist: e.KEYSHIFT_OUTBOUND_ALLOWLIST,
      timeoutMs: e.KEYSHIFT_OUTBOUND_TIMEOUT_MS,
      maxResponseBytes: e.KEYSHIFT_OUTBOUND_MAX_RESPONSE_BYTES,
    },
    api: {
      host: e.KEYSHIFT_API_HOST,
      port: e.KEYSHIFT_API_PORT,
      publicUrl: (e.KEYSHIFT_PUBLIC_URL ?? `http://${e.KEYSHIFT_API_HOST}:${e.KEYSHIFT_API_PORT}`).replace(/\/$/, ''),
      bodyLimitBytes: e.KEYSHIFT_BODY_LIMIT_BYTES,
      importMaxRows: e.KEYSHIFT_IMPORT_MAX_ROWS,
      importConcurrencyPerToken: e.KEYSHIFT_IMPORT_CONCURRENCY_PER_TOKEN,
      importConcurrency: e.KEYSHIFT_IMPORT_CONCURRENCY,
      trustProxy: e.KEYSHIFT_TRUST_PROXY,
    },
    log: { level: e.KEYSHIFT_LOG_LEVEL },
    reconcile: {
      intervalSeconds: e.KEYSHIFT_RECONCILE_INTERVAL_SECONDS,
      batchSize: e.KEYSHIFT_RECONCILE_BATCH_SIZE,
      leaseSeconds: e.KEYSHIFT_LEASE_SECONDS,
      concurrency: e.KEYSHIFT_WORKER_CONCURRENCY,
      maxAttempts: e.KEYSHIFT_PHASE_MAX_ATTEMPTS,
    },
    soak: {
      minSuccesses: e.KEYSHIFT_SOAK_MIN_SUCCESSES,
      minSeconds: e.KEYSHIFT_SOAK_MIN_SECONDS,
      intervalSeconds: e.KEYSHIFT_SOAK_INTERVAL_SECONDS,
    },
    evidenceRecheckSeconds: e.KEYSHIFT_EVIDENCE_RECHECK_SECONDS,
    campaigns: { tickSeconds: e.KEYSHIFT_CAMPAIGN_TICK_SECONDS },
    discovery: {
      maxAgeSeconds: e.KEYSHIFT_DISCOVERY_MAX_AGE_SECONDS,
      recheckSeconds: e.KEYSHIFT_DISCOVERY_RECHECK_SECONDS,
    },
    keys: {
      jwksMaxAgeSeconds: e.KEYSHIFT_JWKS_MAX_AGE_SECONDS,
      overlapMarginSeconds: e.KEYSHIFT_KEY_OVERLAP_MARGIN_SECONDS,
      rotationTickSeconds: e.KEYSHIFT_KEY_ROTATION_TICK_SECONDS,
      challengeSeconds: e.KEYSHIFT_KEY_CHALLENGE_SECONDS,
    },
    audit: { fullVerifyHours: e.KEYSHIFT_AUDIT_FULL_VERIFY_HOURS },
    reports: { retentionHours: e.KEYSHIFT_REPORT_RETENTION_HOURS, tickSeconds: e.KEYSHIFT_REPORT_TICK_SECONDS },
    probes: {
      defaultRatePerSecond: e.KEYSHIFT_PROBE_RATE_PER_SECOND,
      defaultConcurrency: e.KEYSHIFT_PROBE_CONCURRENCY,
      sweepIntervalSeconds: e.KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS,
      maxBackoffSeconds: e.KEYSHIFT_PROBE_MAX_BACKOFF_SECONDS,
    },
  };
}
