import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The audit log's keys, derived from the master key with HKDF (RFC 5869) and a purpose label, as
 * Vault's audit devices derive their HMAC key: whoever can write the database but does not hold
 * KEYSHIFT_MASTER_KEY can neither recompute a link of the chain nor seal a head or checkpoint.
 * Two keys, so an event hash can never be replayed as a seal or the other way round.
 */
export interface AuditKeys {
  /** HMAC-SHA-256 key of the event chain (each event's `hash`). */
  chain: Buffer;
  /** HMAC-SHA-256 key of the seals: the chain head, checkpoints and full-verify outcomes. */
  seal: Buffer;
}

export const AUDIT_KEYS = Symbol('AUDIT_KEYS');

export function deriveAuditKeys(masterKey: Buffer): AuditKeys {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, 32));
  return { chain: derive('keyshift audit chain v1'), seal: derive('keyshift audit seal v1') };
}

/** A seal over a record's fields: HMAC-SHA-256 (hex) over its kind and fields, one per line. */
export function seal(key: Buffer, kind: string, fields: readonly string[]): string {
  return createHmac('sha256', key)
    .update([kind, ...fields].join('\n'))
    .digest('hex');
}

/** Whether `stored` is the seal of these fields (constant time; a missing or malformed seal is false). */
export function sealMatches(key: Buffer, kind: string, fields: readonly string[], stored: string | null): boolean {
  if (stored === null || !/^[0-9a-f]{64}$/.test(stored)) return false;
  return timingSafeEqual(Buffer.from(seal(key, kind, fields), 'hex'), Buffer.from(stored, 'hex'));
}

/** What each seal covers. The head also covers where the keyed chain starts, so a downgrade shows. */
export const headSealFields = (h: { seq: string; hash: string; keyedFrom: string }) => [h.seq, h.hash, h.keyedFrom];
export const checkpointSealFields = (c: { seq: string; hash: string; verifiedAt: Date }) => [
  c.seq,
  c.hash,
  c.verifiedAt.toISOString(),
];
