import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'ks_';

/** A new API token: `ks_` + 256 random bits. Shown once; only its hash is stored. */
export function generateApiToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 of the token. A fast hash is right here (unlike passwords): generated tokens carry 256
 * bits of entropy, so there is nothing to brute-force, and verification sits on every request.
 * The bootstrap admin token comes from configuration and must be at least 32 characters.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
