import { Injectable } from '@nestjs/common';
import { RedisConnection } from '@keyshift/queue';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Requests per second a campaign (or, outside one, Keyshift as a whole) may send to one
 * authorization server, shared by every worker replica through Redis. rate-limiter-flexible
 * rather than hand-made counters: its Redis limiter is one atomic script per take.
 */
@Injectable()
export class RequestBudget {
  private readonly limiters = new Map<number, RateLimiterRedis>();

  constructor(private readonly redis: RedisConnection) {}

  /** Waits until `requests` fit into `perSecond` for `key`, then spends them. */
  async spend(key: string, perSecond: number, requests: number): Promise<void> {
    const limiter = this.limiter(perSecond);
    const points = Math.min(requests, perSecond);
    for (;;) {
      try {
        await limiter.consume(key, points);
        return;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        await new Promise((resolve) => setTimeout(resolve, Math.max(rejection.msBeforeNext, 5)));
      }
    }
  }

  private limiter(perSecond: number): RateLimiterRedis {
    let limiter = this.limiters.get(perSecond);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis.client,
        keyPrefix: `${this.redis.prefix}:budget:${perSecond}`,
        points: perSecond,
        duration: 1,
      });
      this.limiters.set(perSecond, limiter);
    }
    return limiter;
  }
}
