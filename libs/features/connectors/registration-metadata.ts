/**
 * Fields a server returns in a registration that a client must not send back in an RFC 7592 update
 * (§2.2: the server-issued credentials and their times), nor keep in Keyshift's records.
 */
const SERVER_ISSUED = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
] as const;

/** The registration without server-issued credentials: what an update sends back, changes applied. */
export function updatableMetadata(current: Record<string, unknown>, change: object): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current, ...change };
  for (const field of SERVER_ISSUED) delete next[field];
  // A key set moves between the two delivery forms; the server refuses both at once (RFC 7591 §2).
  if ('jwks_uri' in change) delete next.jwks;
  if ('jwks' in change) delete next.jwks_uri;
  // null in a change means "remove the field": a full replacement simply leaves it out.
  for (const [field, value] of Object.entries(next)) if (value === null) delete next[field];
  return next;
}

/** What Keyshift may record of a registration: no secret, no token. */
export function recordableMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const kept = { ...metadata };
  for (const field of SERVER_ISSUED) delete kept[field];
  return kept;
}
