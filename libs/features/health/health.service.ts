import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RedisConnection } from '@keyshift/queue';

export interface DependencyHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: { postgres: DependencyHealth; redis: DependencyHealth };
}

const TIMEOUT_MS = 2000;

/**
 * Pings PostgreSQL and Redis. Written out rather than with @nestjs/terminus: terminus has no ioredis
 * indicator, and two timed pings are shorter than its indicator plumbing.
 */
@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisConnection,
  ) {}

  async check(): Promise<HealthReport> {
    const [postgres, redis] = await Promise.all([
      // A liveness ping of the connection pool, not a read of any aggregate: no repository owns it.
      timed(() => this.dataSource.query('SELECT 1')),
      timed(() => this.redis.client.ping()),
    ]);
    return { status: postgres.ok && redis.ok ? 'ok' : 'degraded', checks: { postgres, redis } };
  }
}

async function timed(ping: () => Promise<unknown>): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    // Connection errors name host and port at most; no credentials are in them (URLs are not echoed).
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
