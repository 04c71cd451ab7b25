import { randomBytes } from 'node:crypto';

/**
 * 128 random bits, base64url: names a client's JWKS without revealing or hinting at its client_id.
 * ClientsRepository.ensureJwksId gives a client one with its first key.
 */
export function newJwksId(): string {
  return randomBytes(16).toString('base64url');
}
