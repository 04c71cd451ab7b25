import { DomainError, ErrorCode } from '@keyshift/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { exceedsJsonDepth, tooDeep } from './json-body';

/** The only routes that take text/csv (each documents it with @ApiConsumes); every other body is JSON. */
export const CSV_ROUTES: ReadonlySet<string> = new Set(['/v1/clients/import']);

export function unsupportedMediaType(): DomainError {
  return new DomainError(
    ErrorCode.UnsupportedMediaType,
    'unsupported Content-Type; send application/json (or text/csv for imports)',
    { field: 'content-type' },
  );
}

/**
 * Replaces every body parser (Nest's form-urlencoded one included: a form body once reached the
 * DTO pipe and its text was echoed in the 400) with two: JSON on every route, refused when nested
 * deeper than MAX_JSON_DEPTH before anything recurses into it; and text/csv on CSV_ROUTES only.
 * Any other media type is a 415 from Fastify before the route runs.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  // Fastify's own parser: secure-json-parse, refusing __proto__ and constructor.prototype keys.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string)) return done(tooDeep(), undefined);
    // The default parser answers through `done`; its declared Promise return is never used.
    void parseJson(request, body as string, done);
  });
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (request: FastifyRequest, body, done) => {
    if (!CSV_ROUTES.has(request.routeOptions.url ?? '')) return done(unsupportedMediaType(), undefined);
    done(null, body);
  });
}
