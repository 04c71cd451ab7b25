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
