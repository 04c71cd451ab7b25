import { HttpException } from '@nestjs/common';
import { DomainError, ErrorCode } from '@keyshift/common';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export const STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCode.ValidationFailed]: 400,
  [ErrorCode.MalformedBody]: 400,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.VersionConflict]: 409,
  [ErrorCode.TransitionNotAllowed]: 409,
  [ErrorCode.GateNotMet]: 409,
  [ErrorCode.ImportRejected]: 422,
  [ErrorCode.ReportNotReady]: 409,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.DependencyUnavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/**
 * JSON.parse's message quotes the text around the fault (`Unexpected token 'h', "hunter2" is not
 * valid JSON`), which can be a secret: the body is named, never quoted.
 */
const NOT_JSON: ErrorBody = {
  code: ErrorCode.MalformedBody,
  message: 'body is not valid JSON',
  details: { field: 'body' },
};

/** Errors raised by Fastify before a request reaches Nest (body parsing, media types). */
interface FastifyError {
  code?: string;
  statusCode?: number;
  message?: string;
}

function fromFastify(e: FastifyError): ErrorBody | null {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: ErrorCode.PayloadTooLarge,
        message: 'request body is larger than the limit (KEYSHIFT_BODY_LIMIT_BYTES)',
        details: { field: 'body' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: ErrorCode.UnsupportedMediaType,
        message: 'unsupported Content-Type; send application/json (or text/csv for imports)',
        details: { field: 'content-type' },
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        code: ErrorCode.MalformedBody,
        message: 'Content-Type is application/json but the body is empty',
        details: { field: 'body' },
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // Raised by the router with the whole path in its message: nothing is quoted back.
      return {
        code: ErrorCode.NotFound,
        message: 'no such resource: a path segment is longer than any Keyshift id',
        details: { field: 'path' },
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return NOT_JSON;
    default:
      // secure-json-parse and JSON.parse raise SyntaxErrors with status 400 for bad JSON and __proto__ keys.
      if (e.statusCode === 400 && e instanceof SyntaxError) return NOT_JSON;
      // Any other request Fastify itself refuses (a malformed URL, a bad header): a 400, its message not quoted.
      if (e.statusCode === 400 && e.code?.startsWith('FST_')) {
        return { code: ErrorCode.MalformedBody, message: 'malformed request', details: { field: 'request' } };
      }
      return null;
  }
}

/**
 * Nest's own HttpExceptions: unknown routes, and body parsing in the Fastify adapter. Their
 * messages are not quoted: a 404's says `Cannot GET <path and query>`, which can carry a secret.
 */
function fromHttpException(e: HttpException): ErrorBody {
  const status = e.getStatus();
  // Our code raises DomainErrors; a framework 400 or 413 is always about the body as a whole.
  if (status === 400)
    return { code: ErrorCode.MalformedBody, message: 'malformed request body', details: { field: 'body' } };
  if (status === 415) {
    return {
      code: ErrorCode.UnsupportedMediaType,
      message: 'unsupported Content-Type; send application/json (or text/csv for imports)',
      details: { field: 'content-type' },
    };
  }
  if (status === 413)
    return {
      code: ErrorCode.PayloadTooLarge,
      message: 'request body is larger than the limit (KEYSHIFT_BODY_LIMIT_BYTES)',
      details: { field: 'body' },
    };
  const code =
    status === 404
      ? ErrorCode.NotFound
      : status === 413
        ? ErrorCode.PayloadTooLarge
        : status === 415
          ? ErrorCode.UnsupportedMediaType
          : status === 401
            ? ErrorCode.Unauthenticated
            : status === 403
              ? ErrorCode.Forbidden
              : status < 500
                ? ErrorCode.ValidationFailed
                : ErrorCode.Internal;
  return {
    code,
    message:
      status === 404
        ? 'no such route'
        : status < 500
          ? (FRAMEWORK_MESSAGES[code] ?? 'request refused')
          : 'internal error',
  };
}

const FRAMEWORK_MESSAGES: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.Unauthenticated]: 'authentication required',
  [ErrorCode.Forbidden]: 'not allowed',
  [ErrorCode.ValidationFailed]: 'request refused',
};

/** Maps any thrown value to (status, stable body). Unknown errors become a bare 500. */
export function toErrorResponse(
  error: unknown,
  correlationId: string,
): { status: number; body: ErrorBody; unexpected: boolean } {
  if (error instanceof DomainError) {
    return {
      status: STATUS_OF[error.code],
      body: { code: error.code, message: error.message, details: error.details },
      unexpected: false,
    };
  }
  if (error instanceof HttpException) {
    const body = fromHttpException(error);
    return { status: error.getStatus(), body, unexpected: error.getStatus() >= 500 };
  }
  const fastify = fromFastify(error as FastifyError);
  if (fastify) return { status: STATUS_OF[fastify.code], body: fastify, unexpected: false };
  return {
    status: 500,
    body: {
      code: ErrorCode.Internal,
      message: `internal error; quote correlation id ${correlationId}`,
      details: { correlationId },
    },
    unexpected: true,
  };
}
