import { createHash } from 'node:crypto';

/** A JWKS ready to serve: the body bytes and its strong ETag, computed once per change. */
export interface JwksDocument {
  body: Buffer;
  etag: string;
}

/** Builds the document from published keys' public JWKs (already allowlisted when stored). */
export function jwksDocument(publicJwks: readonly Record<string, string>[]): JwksDocument {
  const body = Buffer.from(JSON.stringify({ keys: publicJwks }));
  // A strong validator (RFC 9110 §8.8.1): it changes whenever a single byte of the body does.
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

/** RFC 9110 §13.1.2: If-None-Match matches on `*` or any listed tag, compared weakly. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
