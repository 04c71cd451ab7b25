import { Inject, Injectable } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { RedisConnection } from '@keyshift/queue';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

/**
 * Counts failed bearer tokens per client IP, shared by every API replica through Redis
 * (rate-limiter-flexible: one atomic script per count, a fixed window that starts at the first
 * failure). Once an IP has used up its failures, it is refused until the window ends, without its
 * tokens being hashed or looked up: that includes a good token sent from the same IP, which
 * cannot be told apart from a guess without the lookup the limit exists to stop.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly limiter: RateLimiterRedis;
  private readonly limit: number;

  constructor(redis: RedisConnection, @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig) {
    this.limit = config.auth.failuresPerIp;
    const options = { points: this.limit, duration: config.auth.failureWindowSeconds };
    this.limiter = new RateLimiterRedis({
      ...options,
      storeClient: redis.client,
      keyPrefix: `${redis.prefix}:auth-failures`,
      // While Redis is away, count in this process's memory rather than wait for the reconnect.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }

  /** Seconds until the IP may try again, or null when it may try now. */
  async retryAfterSeconds(ip: string): Promise<number | null> {
    const used = await this.limiter.get(callerKey(ip));
    if (!used || used.consumedPoints < this.limit) return null;
    return Math.max(1, Math.ceil(used.msBeforeNext / 1000));
  }

  async recordFailure(ip: string): Promise<void> {
    await this.limiter.penalty(callerKey(ip), 1);
  }
}

/**
 * Who is counted: an IPv4 address, or an IPv6 address's /64 (one subscriber or host usually holds a
 * whole /64, so counting single IPv6 addresses would hand a guesser 2^64 fresh allowances).
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as its IPv4 address.
 */
export function callerKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip); // unwraps IPv4-mapped IPv6
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}
