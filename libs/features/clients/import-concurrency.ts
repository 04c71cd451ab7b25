import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { DomainError, ErrorCode } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { finalize, Observable } from 'rxjs';
import { Principal } from '../api-tokens/principal';

/** What a refused import is told: imports of a full body take seconds, not minutes. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Imports running at once in this process: at most `perKey` per API token and `total` in all.
 *
 * Counted by hand, in memory, on purpose. What is bounded is this process's memory (an import
 * holds its body, its parsed rows and their sealed secrets at once), so the count belongs to the
 * process and dies with it; a count in Redis would outlive a killed API and hold slots nobody
 * frees, or expire under a long import. The rate limiters at hand (@fastify/rate-limit,
 * rate-limiter-flexible) count requests per time window, not requests in flight.
 */
export class InFlightLimit {
  private readonly perKeyCount = new Map<string, number>();
  private totalCount = 0;

  constructor(
    private readonly perKey: number,
    private readonly total: number,
  ) {}

  /** A release function (call it once, when the work ends), or null when there is no room. */
  tryAcquire(key: string): (() => void) | null {
    const held = this.perKeyCount.get(key) ?? 0;
    if (held >= this.perKey || this.totalCount >= this.total) return null;
    this.perKeyCount.set(key, held + 1);
    this.totalCount++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.totalCount--;
      const left = this.perKeyCount.get(key)! - 1;
      if (left === 0) this.perKeyCount.delete(key);
      else this.perKeyCount.set(key, left);
    };
  }

  get running(): number {
    return this.totalCount;
  }
}

/**
 * Bounds concurrent imports (KEYSHIFT_IMPORT_CONCURRENCY_PER_TOKEN, KEYSHIFT_IMPORT_CONCURRENCY):
 * one more is a 429 with Retry-After. The slot is taken after authentication (it is counted per
 * token) and given back when the handler finishes, whether it answered, threw, or its caller went
 * away (the import still runs to its commit or rollback, so it still holds its memory until then).
 */
@Injectable()
export class ImportConcurrency implements NestInterceptor {
  readonly limit: InFlightLimit;

  constructor(@Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig) {
    this.limit = new InFlightLimit(config.api.importConcurrencyPerToken, config.api.importConcurrency);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const { principal } = http.getRequest<{ principal: Principal }>();
    const release = this.limit.tryAcquire(principal.tokenId);
    if (!release) {
      http
        .getResponse<{ header(name: string, value: string): unknown }>()
        .header('retry-after', String(RETRY_AFTER_SECONDS));
      throw new DomainError(
        ErrorCode.RateLimited,
        'too many imports running at once (for this API token or in all); try again shortly',
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    return next.handle().pipe(finalize(release));
  }
}
