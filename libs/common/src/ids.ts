import { randomBytes } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * Row ids are UUIDv7 (RFC 9562): time-ordered, so keyset pagination by id lists in creation order
 * and B-tree inserts stay append-mostly at estate scale.
 */
export function newId(): string {
  return v7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * 128 random bits, base64url: names a client's JWKS without revealing or hinting at its client_id.
 * ClientsRepository.ensureJwksId gives a client one with its first key.
 */
export function newJwksId(): string {
  return randomBytes(16).toString('base64url');
}
