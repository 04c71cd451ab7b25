import { WaveTally } from '@keyshift/domain';
import { EntityManager } from 'typeorm';

/** Per-wave counts of a campaign's members, in one grouped query. */
export async function waveTallies(manager: EntityManager, campaignId: string): Promise<WaveTally[]> {
  const rows = (await manager.query(
    `SELECT campaign_wave AS wave, count(*)::int AS members,
            count(*) FILTER (WHERE phase = 'completed')::int AS completed,
            count(*) FILTER (WHERE phase <> 'completed' AND state IN ('failed', 'blocked'))::int AS failed
     FROM clients WHERE campaign_id = $1 GROUP BY campaign_wave ORDER BY campaign_wave`,
    [campaignId],
  )) as WaveTally[];
  return rows;
}

/** Wakes the parked members of waves up to `wave` so the next sweep advances them. */
export async function wakeMembers(manager: EntityManager, campaignId: string, upToWave: number): Promise<void> {
  await manager.query(
    `UPDATE clients SET next_check_at = now()
     WHERE campaign_id = $1 AND campaign_wave <= $2 AND state = 'done' AND phase <> 'completed' AND next_check_at IS NULL`,
    [campaignId, upToWave],
  );
}
