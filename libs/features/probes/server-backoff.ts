import { Inject, Injectable } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { RedisConnection } from '@keyshift/queue';

const BASE_MS = 500;
const RESET_THROTTLE_MS = 1_000;

/**
 * Per-server exponential backoff shared by every worker replica (a Redis counter): each transient
 * failure doubles the pause of that server's probe queue, up to the configured maximum, and the
 * first answer from the server (even a refusal) resets it.
 */
@Injectable()
export class ServerBackoff {
  private readonly maxMs: number;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
  ) {
    this.maxMs = config.probes.maxBackoffSeconds * 1000;
  }

  private key(serverId: string): string {
    return `${this.redis.prefix}:probe-backoff:${serverId}`;
  }

  /** Records a failure; returns how long to pause the server's queue. */
  async failed(serverId: string): Promise<number> {
    this.lastReset.delete(serverId); // the next answer must reset at once
    const key = this.key(serverId);
    const [[, failures]] = (await this.redis.client
      .multi()
      .incr(key)
      .pexpire(key, this.maxMs * 4)
      .exec()) as [[null, number], unknown];
    return Math.min(this.maxMs, BASE_MS * 2 ** Math.min(failures - 1, 20));
  }

  /** Last time this process reset each server's counter: a probe burst resets it once a second, not per answer. */
  private readonly lastReset = new Map<string, number>();

  async answered(serverId: string): Promise<void> {
    const now = Date.now();
    if ((this.lastReset.get(serverId) ?? 0) > now - RESET_THROTTLE_MS) return;
    this.lastReset.set(serverId, now);
    await this.redis.client.del(this.key(serverId));
  }

  async failures(serverId: string): Promise<number> {
    return Number((await this.redis.client.get(this.key(serverId))) ?? 0);
  }
}
