import type { IncomingMessage } from 'node:http';
import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Swagger UI (its page, scripts, styles and the OpenAPI document) lives under /docs. */
const isDocs = (req: IncomingMessage): boolean => /^\/docs(?:[/?]|$)/.test(req.url ?? '');
const docsOr = (docs: string, api: string) => (req: IncomingMessage) => (isDocs(req) ? docs : api);

/**
 * Security headers on every answer Fastify gives, errors and unknown routes included (helmet runs
 * in onRequest, before routing decides anything). The public JWKS, answered ahead of Fastify, sets
 * its own (jwks-front-door.ts).
 *
 * - nosniff, no-referrer, frame denial (X-Frame-Options DENY and frame-ancestors 'none') everywhere.
 * - CSP: JSON answers load nothing (`default-src 'none'`). /docs loads only its own files: Nest's
 *   Swagger UI page has no inline script (the init code is swagger-ui-init.js), so `script-src`
 *   stays 'self'; its page has inline <style> blocks and React sets style attributes, which a hash
 *   cannot cover, hence 'unsafe-inline' for styles only; its icons are data: images.
 * - `Cache-Control: no-store` on /v1: answers carry estate data that no shared cache may keep.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: [docsOr("'self'", "'none'")],
        styleSrc: [docsOr("'self' 'unsafe-inline'", "'none'")],
        imgSrc: [docsOr("'self' data:", "'none'")],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      if (/^\/v1(?:[/?]|$)/.test(request.url)) void reply.header('cache-control', 'no-store');
      done();
    });
}
