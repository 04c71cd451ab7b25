import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import IORedis, { Redis } from 'ioredis';

/** The process's Redis connection, shared by queues and health checks. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;
  readonly prefix: string;
  /** Error messages already logged in the current outage. */
  private readonly loggedThisOutage = new Set<string>();

  constructor(
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.prefix = config.redis.prefix;
    this.client = new IORedis(config.redis.url, {
      // BullMQ's blocking commands need unlimited retries per request; reconnects back off to 2 s.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      lazyConnect: false,
    });
    // Without a listener ioredis prints reconnect errors to stderr itself; /health reports Redis down.
    this.client.on('error', (error: Error) => this.warnError(error, { connection: 'main' }));
    this.client.on('ready', () => this.loggedThisOutage.clear());
  }

  /**
   * Logs an error of this connection, or of a queue or subscriber riding on Redis, at warn, once
   * per outage and message: ioredis raises one on every reconnect attempt (every 2 s while Redis
   * is away) and each queue on the connection repeats it; the first says what happened.
   */
  warnError(error: Error, context: Record<string, unknown>): void {
    if (this.loggedThisOutage.has(error.message)) return;
    this.loggedThisOutage.add(error.message);
    this.logger.warn({ ...context, err: error.message }, 'Redis error');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
