// The policy's shape lives in the domain so that the client and server entities can hold one
// without importing the keys feature (which imports both of them).

/** When a client's key is rotated on schedule. Set per client or per authorization server. */
export interface RotationPolicy {
  /** Rotate once the active key is this many days old. */
  periodDays: number;
  /** A cron expression (UTC, five fields) for the minutes a scheduled rotation may start in; null: any time. */
  window: string | null;
  /** At least this overlap; never less than the server's profile requires (see overlapSeconds). */
  overlapSeconds: number | null;
}

export const DEFAULT_ROTATION_POLICY: RotationPolicy = { periodDays: 90, window: null, overlapSeconds: null };
