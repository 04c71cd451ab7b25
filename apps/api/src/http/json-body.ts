import { DomainError, ErrorCode } from '@keyshift/common';

/**
 * Deepest JSON nesting a request body may have. Keyshift's deepest document (an import row with its
 * target, or a key's JWK) is 3 levels; 64 leaves room for any sane client while staying far below
 * where class-transformer and class-validator, which recurse, overflow the stack (about 2,500).
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, counted without parsing it, so an over-deep body is refused
 * before JSON.parse or class-transformer recurse into it. Hand-written because neither Fastify's
 * parser (secure-json-parse) nor a maintained npm package offers a depth limit; it only has to
 * follow strings and escapes, and stops at the first level over the limit.
 */
export function exceedsJsonDepth(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/** The body-level refusal for a body nested deeper than MAX_JSON_DEPTH. */
export function tooDeep(): DomainError {
  return new DomainError(ErrorCode.MalformedBody, `body is nested deeper than ${MAX_JSON_DEPTH} levels`, {
    field: 'body',
  });
}
