import { DomainError } from './errors';

/** Opaque keyset cursors: base64url of the last row's key, so clients can't build or depend on them. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, isValidKey: (key: string) => boolean): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isValidKey(key)) throw DomainError.validation([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
  return key;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
