import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import IORedis, { Redis } from 'ioredis';

/** The process's Redis connection, shared by queues and health checks. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;
  readonly prefix: string;

  constructor(@Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig) {
    this.prefix = config.redis.prefix;
    this.client = new IORedis(config.redis.url, {
      // BullMQ's blocking commands need unlimited retries per request; reconnects back off to 2 s.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      lazyConnect: false,
    });
    // Without a listener ioredis logs reconnect errors to stderr itself; health reports them instead.
    this.client.on('error', () => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
