import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/**
 * Paths pino blanks before a line is written. Secrets should never reach a logger in the first
 * place; this is the second line of defence for anything that slips through in an error's context.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  '*.authorization',
  '*.headers.authorization',
  ...[
    'client_secret',
    'clientSecret',
    'client_assertion',
    'registration_access_token',
    'registrationAccessToken',
    'token',
    'privateKey',
    'private_key',
    'privateJwk',
    'privateKeyCiphertext',
    'private_key_ciphertext',
  ].flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ...['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].flatMap((f) => [`jwk.${f}`, `*.jwk.${f}`, `key.${f}`, `*.key.${f}`]),
];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

/** Routes Nest's own log calls into pino, so there is one structured stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  /** Nest's chatter (modules loaded, routes mapped) goes to debug so info stays about Keyshift. */
  log(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}

/** Injection token for the root pino logger. */
export const LOGGER = Symbol('LOGGER');
export type { Logger };
