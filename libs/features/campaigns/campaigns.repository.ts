import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { Phase, WaveTally } from '@keyshift/domain';
import { DataSource, LessThan } from 'typeorm';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientFilter, clientFilterConditions } from '../ports/client-filter';
import { CampaignEntity, CampaignStatus } from './campaign.entity';

/** A campaign's member still failed or blocked, as GET /v1/campaigns/{id} lists it. */
export interface CampaignFailureRow {
  id: string;
  client_id: string;
  campaign_wave: number;
  phase: string;
  state: string;
  state_reason: string | null;
}

/** Who a selector would take now, counted per phase and per server (a dry run). */
export interface MemberPreview {
  byPhase: { phase: string; n: number }[];
  byServer: { id: string; name: string; n: number }[];
  firstIds: string[];
}

/**
 * All SQL on `campaigns`, and on `clients` as campaign members (selection, waves, tallies, wake-ups).
 * Methods take the caller's transaction (`tx`) where they are part of a larger change; without one
 * they run on their own (autocommit). Which clients a selector matches is the client filter
 * (client-filter.ts), the one the client list and the reports use, plus eligibility: not completed
 * and not in another open campaign.
 */
@Injectable()
export class CampaignsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── campaigns ────────────────────────────────────────────────────────────────────────────────

  async insert(tx: Tx, row: CampaignEntity): Promise<void> {
    await tx.getRepository(CampaignEntity).insert(row);
  }

  findById(id: string, tx?: Tx): Promise<CampaignEntity | null> {
    return this.tx(tx).getRepository(CampaignEntity).findOneBy({ id });
  }

  /** Newest first, keyset-paged by id; one row more than `limit` says whether there is a next page. */
  listBefore(before: string | undefined, take: number): Promise<CampaignEntity[]> {
    return this.tx()
      .getRepository(CampaignEntity)
      .find({ where: before ? { id: LessThan(before) } : {}, order: { id: 'DESC' }, take });
  }

  async runningIds(tx?: Tx): Promise<string[]> {
    const rows = (await this.tx(tx).query(`SELECT id FROM campaigns WHERE status = $1`, [CampaignStatus.Running])) as {
      id: string;
    }[];
    return rows.map((r) => r.id);
  }

  /** The campaign if it is running and no other transaction holds it (then null): locked FOR UPDATE. */
  lockRunning(tx: Tx, id: string): Promise<CampaignEntity | null> {
    return tx
      .getRepository(CampaignEntity)
      .createQueryBuilder('k')
      .where('k.id = :id AND k.status = :running', { id, running: CampaignStatus.Running })
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getOne();
  }

  /** Applies `change` if the row is still at `version`; false if it changed meanwhile. */
  async updateAtVersion(tx: Tx, id: string, version: number, change: Partial<CampaignEntity>): Promise<boolean> {
    const { affected } = await tx.getRepository(CampaignEntity).update({ id, version }, change);
    return affected === 1;
  }

  /** For a row the caller holds locked. */
  async update(tx: Tx, id: string, change: Partial<CampaignEntity>): Promise<void> {
    await tx.getRepository(CampaignEntity).update({ id }, change);
  }

  /**
   * The released waves of running campaigns, read FOR SHARE: a campaign tick releasing a wave waits
   * for the reader's transaction (and then wakes what it parked), or the reader waits for the
   * release; nothing is parked on a release it did not see.
   */
  async releasedWaves(tx: Tx, campaignIds: string[]): Promise<Map<string, number>> {
    if (campaignIds.length === 0) return new Map();
    const rows = (await tx.query(
      `SELECT id, released_wave FROM campaigns WHERE id = ANY($1::uuid[]) AND status = $2 FOR SHARE`,
      [campaignIds, CampaignStatus.Running],
    )) as { id: string; released_wave: number }[];
    return new Map(rows.map((r) => [r.id, r.released_wave]));
  }

  // ── members (clients in a campaign) ──────────────────────────────────────────────────────────

  /** The ids of the clients a selector takes now, in id order, locked FOR UPDATE until `tx` ends. */
  async lockEligibleMembers(tx: Tx, selector: ClientFilter): Promise<string[]> {
    const params: unknown[] = [];
    const where = eligibleMembers(selector, params);
    const rows = (await tx.query(
      `SELECT c.id FROM clients c WHERE ${where} ORDER BY c.id FOR UPDATE OF c`,
      params,
    )) as {
      id: string;
    }[];
    return rows.map((r) => r.id);
  }

  /** The same selection as lockEligibleMembers, counted; run in one snapshot (REPEATABLE READ) for consistent counts. */
  async previewEligibleMembers(tx: Tx, selector: ClientFilter, idsShown: number): Promise<MemberPreview> {
    const params: unknown[] = [];
    const where = eligibleMembers(selector, params);
    // One connection (the snapshot's): the three reads run one after the other.
    const byPhase = (await tx.query(
      `SELECT c.phase, count(*)::int AS n FROM clients c WHERE ${where} GROUP BY c.phase ORDER BY c.phase`,
      params,
    )) as { phase: string; n: number }[];
    const byServer = (await tx.query(
      `SELECT c.authorization_server_id AS id, s.name, count(*)::int AS n
       FROM clients c JOIN authorization_servers s ON s.id = c.authorization_server_id
       WHERE ${where} GROUP BY c.authorization_server_id, s.name ORDER BY s.name, c.authorization_server_id`,
      params,
    )) as { id: string; name: string; n: number }[];
    const first = (await tx.query(
      `SELECT c.id FROM clients c WHERE ${where} ORDER BY c.id LIMIT $${params.length + 1}`,
      [...params, idsShown],
    )) as { id: string }[];
    return { byPhase, byServer, firstIds: first.map((r) => r.id) };
  }

  /** Makes the clients members of the campaign, each in its wave (ids[i] in waves[i]). */
  async assignMembers(tx: Tx, campaignId: string, ids: string[], waves: number[]): Promise<void> {
    await tx.query(
      `UPDATE clients c SET campaign_id = $1, campaign_wave = w.wave
       FROM unnest($2::uuid[], $3::int[]) AS w(id, wave) WHERE c.id = w.id`,
      [campaignId, ids, waves],
    );
  }

  memberCountsByPhaseAndState(campaignId: string, tx?: Tx): Promise<{ phase: string; state: string; n: number }[]> {
    return this.tx(tx).query(
      `SELECT phase, state, count(*)::int AS n FROM clients WHERE campaign_id = $1 GROUP BY phase, state`,
      [campaignId],
    ) as Promise<{ phase: string; state: string; n: number }[]>;
  }

  /** The members failed or blocked and not completed, by wave then id, at most `limit`. */
  failedMembers(campaignId: string, limit: number, tx?: Tx): Promise<CampaignFailureRow[]> {
    return this.tx(tx).query(
      `SELECT id, client_id, campaign_wave, phase, state, state_reason FROM clients
       WHERE campaign_id = $1 AND phase <> 'completed' AND state IN ('failed', 'blocked')
       ORDER BY campaign_wave, id LIMIT $2`,
      [campaignId, limit],
    ) as Promise<CampaignFailureRow[]>;
  }

  /** Per-wave counts of a campaign's members, in one grouped query. */
  waveTallies(campaignId: string, tx?: Tx): Promise<WaveTally[]> {
    return this.tx(tx).query(
      `SELECT campaign_wave AS wave, count(*)::int AS members,
              count(*) FILTER (WHERE phase = 'completed')::int AS completed,
              count(*) FILTER (WHERE phase <> 'completed' AND state IN ('failed', 'blocked'))::int AS failed
       FROM clients WHERE campaign_id = $1 GROUP BY campaign_wave ORDER BY campaign_wave`,
      [campaignId],
    ) as Promise<WaveTally[]>;
  }

  /** Wakes the parked members of waves up to `upToWave` so the next sweep advances them. */
  async wakeMembers(tx: Tx, campaignId: string, upToWave: number): Promise<void> {
    await tx.query(
      `UPDATE clients SET next_check_at = now()
       WHERE campaign_id = $1 AND campaign_wave <= $2 AND state = 'done' AND phase <> 'completed' AND next_check_at IS NULL`,
      [campaignId, upToWave],
    );
  }

  // ── authorization servers, as a campaign's request budget reads them ─────────────────────────

  /** The server's probe rate, or null if there is no such server. */
  /** The campaign's request budget per server and second (every call a migration makes there spends it). */
  async serverBudgetPerSecond(campaignId: string, tx?: Tx): Promise<number | null> {
    const [row] = (await this.tx(tx).query('SELECT server_budget_per_second FROM campaigns WHERE id = $1', [
      campaignId,
    ])) as { server_budget_per_second: number }[];
    return row?.server_budget_per_second ?? null;
  }

  async serverProbeRate(tx: Tx, serverId: string): Promise<number | null> {
    const server = await tx.getRepository(AuthorizationServerEntity).findOneBy({ id: serverId });
    return server ? server.probeRatePerSecond : null;
  }

  /** The lowest probe rate of any server, or null when there is none. */
  async lowestProbeRate(tx: Tx): Promise<number | null> {
    const [row] = (await tx.query('SELECT min(probe_rate_per_second)::int AS rate FROM authorization_servers')) as {
      rate: number | null;
    }[];
    return row?.rate ?? null;
  }
}

/** Clients (alias c) a selector takes: matching the filter, not completed, not in an open campaign. */
function eligibleMembers(selector: ClientFilter, params: unknown[]): string {
  return [
    `c.phase <> '${Phase.Completed}'`,
    `NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = c.campaign_id AND k.status <> '${CampaignStatus.Completed}')`,
    ...clientFilterConditions(selector, params, 'c'),
  ].join(' AND ');
}
