/** How one wave of a campaign stands: members that finished the migration, failed (or blocked), or are on their way. */
export interface WaveTally {
  wave: number;
  members: number;
  completed: number;
  /** Failed or blocked: needs a person. */
  failed: number;
}

export interface CampaignStanding {
  /** The highest wave released; -1 before the canary. */
  releasedWave: number;
  waveCount: number;
  maxFailureRate: number;
  waves: WaveTally[];
}

export type CampaignMove =
  | { move: 'none'; reason: string }
  | { move: 'release'; wave: number }
  | { move: 'pause'; reason: string; failureRate: number }
  | { move: 'complete' };

/**
 * What a running campaign does next. Pure. The failure rate is failed over released members; past
 * the maximum the campaign pauses (before anything else is released). The canary is wave 0; each
 * later wave is released only when every member of the waves before it has finished (completed or
 * failed) within the maximum failure rate.
 */
export function nextCampaignMove(c: CampaignStanding): CampaignMove {
  const released = c.waves.filter((w) => w.wave <= c.releasedWave);
  const members = released.reduce((n, w) => n + w.members, 0);
  const failed = released.reduce((n, w) => n + w.failed, 0);
  // Stryker disable next-line ConditionalExpression: equivalent; 0/0 is NaN, NaN > max is false, and the rate is read only past that check
  const failureRate = members === 0 ? 0 : failed / members;
  if (failureRate > c.maxFailureRate) {
    return {
      move: 'pause',
      failureRate,
      reason: `failure rate ${(failureRate * 100).toFixed(1)}% (${failed} of ${members} released clients) exceeds the maximum ${(c.maxFailureRate * 100).toFixed(1)}%`,
    };
  }
  // Stryker disable next-line ConditionalExpression: equivalent; with nothing released, the general rule below also releases wave 0 or completes
  if (c.releasedWave < 0) return c.waveCount > 0 ? { move: 'release', wave: 0 } : { move: 'complete' };
  const unfinished = released.reduce((n, w) => n + (w.members - w.completed - w.failed), 0);
  if (unfinished > 0) return { move: 'none', reason: `${unfinished} released clients still migrating` };
  return c.releasedWave + 1 < c.waveCount ? { move: 'release', wave: c.releasedWave + 1 } : { move: 'complete' };
}

/** Wave numbers for `count` members in order: the canary first, then waves of `waveSize`. */
export function assignWaves(count: number, canarySize: number, waveSize: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    i < canarySize ? 0 : (canarySize > 0 ? 1 : 0) + Math.floor((i - canarySize) / waveSize),
  );
}
