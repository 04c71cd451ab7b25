import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-body';

/** One place that turns errors into `{ code, message, details? }`; internals never reach the caller. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    // Minted here rather than per request (genReqId): only errors need one, and the hot routes stay cheap.
    const correlationId = randomUUID();
    const { status, body, unexpected } = toErrorResponse(error, correlationId);
    if (unexpected) {
      // The error object can carry a SQL statement with parameters: log the message and stack only.
      const e = error as Error;
      this.logger.error(
        {
          correlationId,
          route: request.routeOptions?.url,
          err: { name: e?.name, message: e?.message, stack: e?.stack },
        },
        'unexpected error',
      );
    }
    // A route's own content type (application/jose, text/csv) must not label the error body.
    void reply.status(status).type('application/json; charset=utf-8').send(body);
  }
}
