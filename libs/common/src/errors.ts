/** Stable error codes: the API's error body carries one, and clients may switch on it. */
export enum ErrorCode {
  ValidationFailed = 'validation_failed',
  MalformedBody = 'malformed_body',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  AlreadyExists = 'already_exists',
  VersionConflict = 'version_conflict',
  TransitionNotAllowed = 'transition_not_allowed',
  GateNotMet = 'gate_not_met',
  ImportRejected = 'import_rejected',
  /** A report the worker is still producing (or failed to produce). */
  ReportNotReady = 'report_not_ready',
  /** Too many failed authentications, or too much concurrent work: 429 with Retry-After. */
  RateLimited = 'rate_limited',
  DependencyUnavailable = 'dependency_unavailable',
  Internal = 'internal',
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** An expected failure with a code the API maps to an HTTP status. Never carries secrets. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static validation(problems: FieldProblem[]): DomainError {
    const summary = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${summary}`, { fields: problems });
  }

  static notFound(what: string, id: string): DomainError {
    return new DomainError(ErrorCode.NotFound, `${what} ${id} not found`);
  }
}
