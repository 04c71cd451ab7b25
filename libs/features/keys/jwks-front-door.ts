import { IncomingMessage, ServerResponse } from 'node:http';
import { Counter } from 'prom-client';
import { ifNoneMatchHits } from './jwks-document';
import { JwksCache } from './jwks-cache';

/** `/jwks/<jwksId>.json`, jwksIds being 22 base64url characters (newJwksId in @keyshift/common). */
const JWKS_PATH = /^\/jwks\/([A-Za-z0-9_-]{22})\.json(?:\?.*)?$/;

const NOT_FOUND = Buffer.from(JSON.stringify({ code: 'not_found', message: 'no such JWKS' }));

/** Browsers must not sniff another type into these bodies (Fastify's answers get it from security-headers.ts). */
const NOSNIFF = 'nosniff';

/**
 * Serves GET/HEAD /jwks/{jwksId}.json ahead of Fastify, from the HTTP server's own request handler
 * (Fastify's `serverFactory`, see create-api-app.ts). The route is public, has no body and no
 * parameters but the id, and is the hottest Keyshift has: Fastify's routing plus the hooks Nest's
 * adapter installs on every route (four onRequest, one onResponse, middleware) cost about a third
 * of its throughput, for nothing this route uses. Every other request goes on to Fastify.
 */
export class JwksFrontDoor {
  private cache?: JwksCache;
  private cacheControl = '';
  private counts?: Record<'200' | '304' | '404', { inc(): void }>;

  /** Until the app has booted, requests fall through to Fastify (which answers 404). */
  attach(cache: JwksCache, maxAgeSeconds: number, responses: Counter<'status'>): void {
    this.cacheControl = `public, max-age=${maxAgeSeconds}`;
    // Children bound once: an increment is then a field update, not a label lookup.
    this.counts = { '200': responses.labels('200'), '304': responses.labels('304'), '404': responses.labels('404') };
    this.cache = cache;
  }

  /** Answers the request if it is for a JWKS; false hands it to Fastify. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.cache || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const match = JWKS_PATH.exec(req.url ?? '');
    if (!match) return false;
    const document = this.cache.get(match[1]);
    if (!document) {
      this.counts!['404'].inc();
      res.writeHead(404, {
        'content-type': 'application/json',
        'x-content-type-options': NOSNIFF,
        'cache-control': 'no-store',
        'content-length': NOT_FOUND.length,
      });
      res.end(req.method === 'HEAD' ? undefined : NOT_FOUND);
      return true;
    }
    if (ifNoneMatchHits(req.headers['if-none-match'], document.etag)) {
      this.counts!['304'].inc();
      res.writeHead(304, {
        'cache-control': this.cacheControl,
        etag: document.etag,
        'x-content-type-options': NOSNIFF,
      });
      res.end();
      return true;
    }
    this.counts!['200'].inc();
    res.writeHead(200, {
      'content-type': 'application/jwk-set+json',
      'x-content-type-options': NOSNIFF,
      'content-length': document.body.length,
      'cache-control': this.cacheControl,
      etag: document.etag,
    });
    res.end(req.method === 'HEAD' ? undefined : document.body);
    return true;
  }
}
