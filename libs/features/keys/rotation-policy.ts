import { CronTime } from 'cron';
import { DEFAULT_ROTATION_POLICY, type RotationPolicy } from '@keyshift/domain';

export { DEFAULT_ROTATION_POLICY, type RotationPolicy };

/**
 * effectivePolicy's period in SQL, over `clients c` joined to `authorization_servers s`: what the
 * scheduler rotates by and what reports call "past rotation".
 */
export const ROTATION_PERIOD_DAYS_SQL = `coalesce((c.rotation_policy->>'periodDays')::int,
  (s.rotation_policy->>'periodDays')::int, ${DEFAULT_ROTATION_POLICY.periodDays})`;

/** The client's own policy, else its server's, else the default. */
export function effectivePolicy(client: RotationPolicy | null, server: RotationPolicy | null): RotationPolicy {
  return client ?? server ?? DEFAULT_ROTATION_POLICY;
}

export interface OverlapInputs {
  /** How long the server may cache a client's JWKS (its profile). */
  serverJwksCacheSeconds: number;
  /** The max-age Keyshift itself puts on the JWKS: a server honouring it may cache that long. */
  servedMaxAgeSeconds: number;
  /**
   * The longest assertion the server accepts. Keyshift's own never exceed 60 s, but a workload
   * signing with an exported or its own key may use the server's whole allowance.
   */
  assertionSeconds: number;
  marginSeconds: number;
  policyOverlapSeconds: number | null;
}

/**
 * How long a new key is published before it is used, and an old key kept after it stops being
 * used: the server may hold a JWKS fetched just before the change for its cache time, and an
 * assertion signed just before it stays valid for its lifetime.
 */
export function overlapSeconds(i: OverlapInputs): number {
  const required = Math.max(i.serverJwksCacheSeconds, i.servedMaxAgeSeconds) + i.assertionSeconds + i.marginSeconds;
  return Math.max(required, i.policyOverlapSeconds ?? 0);
}

/** Whether a key activated at `activatedAt` is due for a scheduled rotation at `now`. */
export function rotationDue(activatedAt: Date, policy: RotationPolicy, now: Date): boolean {
  if (now.getTime() - activatedAt.getTime() < policy.periodDays * 86_400_000) return false;
  return policy.window === null || inWindow(policy.window, now);
}

/** Whether `now` falls in a minute the cron expression names. */
export function inWindow(window: string, now: Date): boolean {
  const minuteStart = Math.floor(now.getTime() / 60_000) * 60_000;
  const next = new CronTime(window, 'UTC').getNextDateFrom(new Date(minuteStart - 1)).toJSDate();
  return next.getTime() === minuteStart;
}

/** Why a window expression is unusable, or null when it is fine. */
export function windowProblem(window: string): string | null {
  if (window.trim().split(/\s+/).length !== 5)
    return 'must be a five-field cron expression (minute hour day month weekday)';
  try {
    new CronTime(window, 'UTC');
    return null;
  } catch (error) {
    return `is not a valid cron expression (${(error as Error).message})`;
  }
}
