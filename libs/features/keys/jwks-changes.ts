import { Injectable } from '@nestjs/common';
import { RedisConnection } from '@keyshift/queue';

export const jwksChannel = (prefix: string) => `${prefix}:jwks-changed`;

/** Announces that a client's published keys changed, after the change is committed. */
@Injectable()
export class JwksChanges {
  constructor(private readonly redis: RedisConnection) {}

  async announce(jwksId: string): Promise<void> {
    await this.redis.client.publish(jwksChannel(this.redis.prefix), jwksId);
  }
}
