import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LOGGER, Logger, PinoNestLogger } from '@keyshift/common';
import { KeyshiftConfig } from '@keyshift/config';
import { runMigrations } from '@keyshift/database';
import { ApiTokensService } from '@keyshift/features/api-tokens/api-tokens.service';
import { JwksCache } from '@keyshift/features/keys/jwks-cache';
import { JwksFrontDoor } from '@keyshift/features/keys/jwks-front-door';
import { createServer, RequestListener } from 'node:http';
import { MetricsService } from '@keyshift/features/metrics/metrics.service';
import { DataSource } from 'typeorm';
import { ApiModule } from './api.module';
import { toErrorResponse } from './http/error-body';
import { registerSecurityHeaders } from './http/security-headers';
import { registerBodyParsers } from './http/body-parsers';

/**
 * Builds the API application (used by main.ts and by the HTTP tests). Fastify rather than Express:
 * the public JWKS route must serve tens of thousands of requests per second, and Express's
 * middleware pipeline costs well over a third of that.
 */
export async function createApiApp(config: KeyshiftConfig): Promise<NestFastifyApplication> {
  const jwks = new JwksFrontDoor();
  const adapter = new FastifyAdapter({
    // The public JWKS is answered before Fastify routes the request (see JwksFrontDoor).
    serverFactory: (handler: RequestListener) => createServer((req, res) => jwks.serve(req, res) || handler(req, res)),
    bodyLimit: config.api.bodyLimitBytes,
    // The caller's address (the failed-authentication limit counts by it) from X-Forwarded-For only
    // when the hop that sent it is a proxy the operator named.
    trustProxy: config.api.trustProxy,
    // The router's own refusals (a malformed URL, an over-long path segment) answer before any hook
    // runs and would quote the path: they get Keyshift's error body and headers instead.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toErrorResponse(error, randomUUID());
      void reply
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .status(status)
        .send(body);
    },
    // Request logging is off: per-request lines would dominate the hot routes. Errors are logged by the filter.
    logger: false,
    // Keep the framework's own prototype-poisoning defences.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(config), adapter, {
    bufferLogs: true,
    // Nest's own parsers include application/x-www-form-urlencoded; registerBodyParsers sets the only ones.
    bodyParser: false,
  });
  const logger = app.get<Logger>(LOGGER);
  app.useLogger(new PinoNestLogger(logger.child({ component: 'nest' })));
  app.enableShutdownHooks();
  await registerSecurityHeaders(app);

  const fastify = app.getHttpAdapter().getInstance();
  // JSON everywhere (depth-limited), CSV for imports only; anything else is a 415 (see body-parsers.ts).
  registerBodyParsers(fastify);
  // Errors Fastify raises before Nest sees the request (bad JSON, body too large, media type) get the same body shape.
  // Request latency by route pattern (the public JWKS, served ahead of Fastify, counts its own answers).
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  jwks.attach(app.get(JwksCache), config.keys.jwksMaxAgeSeconds, metrics.jwksResponses);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Keyshift API')
      .setDescription(
        'Moves OAuth clients off shared secrets onto private_key_jwt and sender-constrained tokens, with evidence at every step.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A Keyshift API token (ks_...)' })
      .build(),
  );
  document.paths['/jwks/{jwksId}.json'] = JWKS_ROUTE_DOC;
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });

  // Before init: bootstrap hooks (the JWKS cache's first load) read the migrated schema.
  if (config.database.runMigrations) {
    const applied = await runMigrations(app.get(DataSource), config.database.migrationUrl);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  await app.init();
  await app.get(ApiTokensService).bootstrapAdmin(config.auth.adminToken);
  return app;
}

/** The public JWKS is served outside Nest's router (see jwks-front-door.ts), so Swagger cannot see it. */
const JWKS_ROUTE_DOC = {
  get: {
    tags: ['keys'],
    summary: "A client's public JWKS (no authentication)",
    description:
      'Public members only, keys in states pending, active and retiring. Cache-Control max-age from KEYSHIFT_JWKS_MAX_AGE_SECONDS, a strong ETag, and 304 on If-None-Match.',
    parameters: [{ name: 'jwksId', in: 'path' as const, required: true, schema: { type: 'string' as const } }],
    responses: {
      '200': { description: 'The JWKS', content: { 'application/jwk-set+json': {} } },
      '304': { description: 'Not modified (If-None-Match matched the ETag)' },
      '404': { description: 'No such JWKS' },
    },
  },
};
