import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { RedisConnection } from '@keyshift/queue';
import { Redis } from 'ioredis';
import { jwksChannel } from './jwks-changes';
import { jwksDocument, JwksDocument } from './jwks-document';
import { KeysRepository } from './keys.repository';

const RETRY_MS = 2_000;

/**
 * Every client's public JWKS, held in the API's memory so the public route never touches the
 * database or Redis per request. Loaded whole at boot; a key change anywhere (API or worker
 * replica) is announced on a Redis channel and reloads just that document; after a lost Redis
 * connection (messages may have been missed) everything is reloaded.
 */
@Injectable()
export class JwksCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private documents = new Map<string, JwksDocument>();
  private subscriber?: Redis;
  /** The newest reload started per document: an older read finishing late must not overwrite it. */
  private readonly newestReload = new Map<string, number>();
  private reloads = 0;
  /** Ids announced while a full reload runs, reloaded again once it lands. */
  private announcedDuringFullReload: Set<string> | null = null;
  /** One full reload at a time; a request for another while one runs makes it go round once more. */
  private fullReload?: Promise<void>;
  private fullReloadAgain = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly keys: KeysRepository,
    private readonly redis: RedisConnection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get(jwksId: string): JwksDocument | undefined {
    return this.documents.get(jwksId);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.client.duplicate();
    // While it is away the public JWKS keeps serving from memory; a reconnect reloads everything.
    this.subscriber.on('error', (error: Error) => this.redis.warnError(error, { connection: 'jwks-subscriber' }));
    this.subscriber.on('message', (_channel, jwksId: string) => void this.reload(jwksId));
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) void this.reloadAll();
      connectedBefore = true;
    });
    await this.subscriber.subscribe(jwksChannel(this.redis.prefix));
    await this.reloadAll();
  }

  reloadAll(): Promise<void> {
    if (this.fullReload) {
      this.fullReloadAgain = true;
      return this.fullReload;
    }
    this.fullReload = (async () => {
      do {
        this.fullReloadAgain = false;
        await this.loadAll();
      } while (this.fullReloadAgain);
    })().finally(() => (this.fullReload = undefined));
    return this.fullReload;
  }

  private async loadAll(): Promise<void> {
    this.announcedDuringFullReload = new Set();
    try {
      const rows = await this.keys.allPublishedJwks();
      this.documents = new Map(rows.map((r) => [r.jwks_id, jwksDocument(r.keys)]));
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'could not load the JWKS documents; retrying');
      this.retryLater();
    }
    const announced = this.announcedDuringFullReload ?? new Set<string>();
    this.announcedDuringFullReload = null;
    await Promise.all([...announced].map((id) => this.reload(id)));
  }

  /** A failed load is not left standing: the whole set is read again a little later. */
  private retryLater(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.reloadAll();
    }, RETRY_MS);
    this.retry.unref();
  }

  async reload(jwksId: string): Promise<void> {
    this.announcedDuringFullReload?.add(jwksId);
    const reload = ++this.reloads;
    this.newestReload.set(jwksId, reload);
    try {
      const keys = await this.keys.publishedJwks(jwksId);
      if (this.newestReload.get(jwksId) !== reload) return;
      this.newestReload.delete(jwksId);
      if (keys) this.documents.set(jwksId, jwksDocument(keys));
      else this.documents.delete(jwksId);
    } catch (error) {
      this.logger.error({ err: (error as Error).message, jwksId }, 'could not reload a JWKS document; reloading all');
      this.retryLater();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.retry);
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
