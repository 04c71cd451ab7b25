import { Injectable } from '@nestjs/common';
import { RedisConnection } from './redis-connection';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Requests per second (or per minute) a campaign, a server's probes or a vendor admin API may be
 * sent, shared by every worker replica through Redis. rate-limiter-flexible
 * rather than hand-made counters: its Redis limiter is one atomic script per take.
 */
@Injectable()
export class RequestBudget {
  private readonly limiters = new Map<string, RateLimiterRedis>();

  constructor(private readonly redis: RedisConnection) {}

  /** Waits until `requests` fit into `points` per `seconds` for `key`, then spends them. */
  async spend(key: string, points: number, requests: number, seconds = 1): Promise<void> {
    const limiter = this.limiter(points, seconds);
    const taken = Math.min(requests, points);
    for (;;) {
      try {
        await limiter.consume(key, taken);
        return;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        await new Promise((resolve) => setTimeout(resolve, Math.max(rejection.msBeforeNext, 5)));
      }
    }
  }

  private limiter(points: number, seconds: number): RateLimiterRedis {
    const name = seconds === 1 ? String(points) : `${points}per${seconds}s`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis.client,
        keyPrefix: `${this.redis.prefix}:budget:${name}`,
        points,
        duration: seconds,
      });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}
