import { randomBytes } from 'node:crypto';
import { write } from '@keyshift/database';
import { EntityManager } from 'typeorm';

/** 128 random bits, base64url: names a client's JWKS without revealing or hinting at its client_id. */
export function newJwksId(): string {
  return randomBytes(16).toString('base64url');
}

/** The client's jwksId, given one with its first key; the same id for the client's lifetime. */
export async function ensureJwksId(manager: EntityManager, clientRowId: string): Promise<string> {
  const { rows } = await write<{ jwks_id: string }>(
    manager,
    'UPDATE clients SET jwks_id = coalesce(jwks_id, $2) WHERE id = $1 RETURNING jwks_id',
    [clientRowId, newJwksId()],
  );
  return rows[0].jwks_id;
}
