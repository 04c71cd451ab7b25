import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, decodeCursor, DomainError, encodeCursor, ErrorCode, isUuid, newId, Page } from '@keyshift/common';
import { assignWaves, nextCampaignMove } from '@keyshift/domain';
import { DataSource, EntityManager, LessThan } from 'typeorm';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { CampaignEntity, CampaignStatus } from './campaign.entity';
import { waveTallies, wakeMembers } from './campaign-tallies';
import { CampaignFailure, campaignView, CampaignView } from './campaign-view';
import { CampaignSelectorDto, CreateCampaignDto, ResumeCampaignDto, SELECTOR_CRITERIA } from './campaigns.dto';

const FAILURES_SHOWN = 100;
/** Member ids a dry run lists; the counts cover all of them. */
export const DRY_RUN_IDS_SHOWN = 100;

/** What POST /v1/campaigns?dryRun=true answers: who the campaign would take, nothing created. */
export interface CampaignPreview {
  dryRun: true;
  members: number;
  waveCount: number;
  byPhase: Record<string, number>;
  byAuthorizationServer: { authorizationServerId: string; name: string; members: number }[];
  /** The first DRY_RUN_IDS_SHOWN member ids (client row ids, in the order waves are assigned). */
  firstMemberIds: string[];
}

/**
 * Campaigns through the API. Creating one fixes its members (matching clients that are not done
 * and not in another open campaign) and their waves in one transaction; the campaign tick then
 * releases waves. Pause and resume work at any time.
 */
@Injectable()
export class CampaignsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async create(input: CreateCampaignDto, by: Principal): Promise<CampaignView> {
    assertNarrows(input.selector);
    const now = this.clock.now();
    const id = newId();
    const campaign = await this.dataSource.transaction(async (m) => {
      const budget = input.serverBudgetPerSecond ?? (await this.defaultBudget(m, input.selector.authorizationServerId));
      const members = await this.selectMembers(m, input);
      if (members.length === 0) {
        throw DomainError.validation([
          { field: 'selector', message: 'matches no client that is not completed and not in an open campaign' },
        ]);
      }
      const waves = assignWaves(members.length, input.canarySize, input.waveSize);
      const row: CampaignEntity = {
        id,
        name: input.name,
        selector: { ...input.selector },
        canarySize: input.canarySize,
        waveSize: input.waveSize,
        maxFailureRate: input.maxFailureRate,
        serverBudgetPerSecond: budget,
        status: CampaignStatus.Running,
        pausedReason: null,
        releasedWave: -1,
        waveCount: waves[waves.length - 1] + 1,
        memberCount: members.length,
        createdBy: actorOf(by),
        version: 1,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
      };
      await m.getRepository(CampaignEntity).insert(row);
      await m.query(
        `UPDATE clients c SET campaign_id = $1, campaign_wave = w.wave
         FROM unnest($2::uuid[], $3::int[]) AS w(id, wave) WHERE c.id = w.id`,
        [id, members, waves],
      );
      await this.audit.append(m, [
        {
          actor: actorOf(by),
          action: 'campaign.created',
          subjectType: 'campaign',
          subjectId: id,
          after: { ...campaignView(row), clientRowIds: members.length <= 1_000 ? members : undefined },
        },
      ]);
      return row;
    });
    return campaignView(campaign);
  }

  /**
   * The members create() would take now, counted per phase and per server, from one snapshot;
   * writes nothing, audits nothing, queues nothing. The same refusals as create() apply.
   */
  async preview(input: CreateCampaignDto): Promise<CampaignPreview> {
    assertNarrows(input.selector);
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      if (input.serverBudgetPerSecond === undefined) await this.defaultBudget(m, input.selector.authorizationServerId);
      const { where, params } = memberCondition(input.selector);
      // One connection (the snapshot's): the three reads run one after the other.
      const byPhase = (await m.query(
        `SELECT c.phase, count(*)::int AS n FROM clients c WHERE ${where} GROUP BY c.phase ORDER BY c.phase`,
        params,
      )) as { phase: string; n: number }[];
      const byServer = (await m.query(
        `SELECT c.authorization_server_id AS id, s.name, count(*)::int AS n
         FROM clients c JOIN authorization_servers s ON s.id = c.authorization_server_id
         WHERE ${where} GROUP BY c.authorization_server_id, s.name ORDER BY s.name, c.authorization_server_id`,
        params,
      )) as { id: string; name: string; n: number }[];
      const first = (await m.query(
        `SELECT c.id FROM clients c WHERE ${where} ORDER BY c.id LIMIT ${DRY_RUN_IDS_SHOWN}`,
        params,
      )) as { id: string }[];
      const members = byPhase.reduce((sum, r) => sum + r.n, 0);
      const waves = members ? assignWaves(members, input.canarySize, input.waveSize) : [];
      return {
        dryRun: true,
        members,
        waveCount: waves.length ? waves[waves.length - 1] + 1 : 0,
        byPhase: Object.fromEntries(byPhase.map((r) => [r.phase, r.n])),
        byAuthorizationServer: byServer.map((r) => ({ authorizationServerId: r.id, name: r.name, members: r.n })),
        firstMemberIds: first.map((r) => r.id),
      };
    });
  }

  async get(id: string): Promise<CampaignView> {
    const campaign = await this.dataSource.getRepository(CampaignEntity).findOneBy({ id });
    if (!campaign) throw DomainError.notFound('campaign', id);
    const m = this.dataSource.manager;
    const [byPhaseRows, tallies, failures] = await Promise.all([
      m.query(`SELECT phase, state, count(*)::int AS n FROM clients WHERE campaign_id = $1 GROUP BY phase, state`, [
        id,
      ]) as Promise<{ phase: string; state: string; n: number }[]>,
      waveTallies(m, id),
      m.query(
        `SELECT id, client_id, campaign_wave, phase, state, state_reason FROM clients
         WHERE campaign_id = $1 AND phase <> 'completed' AND state IN ('failed', 'blocked')
         ORDER BY campaign_wave, id LIMIT $2`,
        [id, FAILURES_SHOWN],
      ) as Promise<
        {
          id: string;
          client_id: string;
          campaign_wave: number;
          phase: string;
          state: string;
          state_reason: string | null;
        }[]
      >,
    ]);
    const byPhase: Record<string, Record<string, number>> = {};
    for (const r of byPhaseRows) (byPhase[r.phase] ??= {})[r.state] = r.n;
    const released = tallies.filter((w) => w.wave <= campaign.releasedWave);
    const releasedMembers = released.reduce((n, w) => n + w.members, 0);
    return {
      ...campaignView(campaign),
      progress: {
        byPhase,
        waves: tallies.map((w) => ({ ...w, released: w.wave <= campaign.releasedWave })),
        failureRate: releasedMembers ? released.reduce((n, w) => n + w.failed, 0) / releasedMembers : 0,
        failures: failures.map((f): CampaignFailure => ({
          clientRowId: f.id,
          clientId: f.client_id,
          wave: f.campaign_wave,
          phase: f.phase,
          state: f.state,
          reason: f.state_reason,
        })),
      },
    };
  }

  async list(limit = 50, cursor?: string): Promise<Page<CampaignView>> {
    const before = cursor ? decodeCursor(cursor, isUuid) : undefined;
    const rows = await this.dataSource.getRepository(CampaignEntity).find({
      where: before ? { id: LessThan(before) } : {},
      order: { id: 'DESC' },
      take: limit + 1,
    });
    const items = rows.slice(0, limit).map(campaignView);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }

  async pause(id: string, by: Principal): Promise<CampaignView> {
    return this.change(id, by, 'campaign.paused', (c) => {
      if (c.status !== CampaignStatus.Running) throw this.refusal(`campaign is ${c.status}`);
      return { status: CampaignStatus.Paused, pausedReason: `paused by ${actorOf(by)}` };
    });
  }

  async resume(id: string, input: ResumeCampaignDto, by: Principal): Promise<CampaignView> {
    return this.change(id, by, 'campaign.resumed', async (c, m) => {
      if (c.status !== CampaignStatus.Paused) throw this.refusal(`campaign is ${c.status}`);
      const maxFailureRate = input.maxFailureRate ?? c.maxFailureRate;
      // Resuming into a failure rate that would pause it again at once helps nobody: say so now.
      const move = nextCampaignMove({ ...c, maxFailureRate, waves: await waveTallies(m, c.id) });
      if (move.move === 'pause') {
        throw this.refusal(
          `${move.reason}; resolve the failed clients (GET /v1/campaigns/${c.id} lists them) or raise maxFailureRate`,
        );
      }
      await wakeMembers(m, c.id, c.releasedWave);
      return { status: CampaignStatus.Running, pausedReason: null, maxFailureRate };
    });
  }

  /** One status change under the row's version, with its audit event. */
  private async change(
    id: string,
    by: Principal,
    action: string,
    decide: (c: CampaignEntity, m: EntityManager) => Partial<CampaignEntity> | Promise<Partial<CampaignEntity>>,
  ): Promise<CampaignView> {
    const next = await this.dataSource.transaction(async (m) => {
      const current = await m.getRepository(CampaignEntity).findOneBy({ id });
      if (!current) throw DomainError.notFound('campaign', id);
      const change = await decide(current, m);
      const next = { ...current, ...change, version: current.version + 1, updatedAt: this.clock.now() };
      const { affected } = await m
        .getRepository(CampaignEntity)
        .update({ id, version: current.version }, { ...change, version: next.version, updatedAt: next.updatedAt });
      if (affected !== 1) throw new DomainError(ErrorCode.VersionConflict, 'the campaign changed meanwhile; retry');
      await this.audit.append(m, [
        {
          actor: actorOf(by),
          action,
          subjectType: 'campaign',
          subjectId: id,
          before: { status: current.status },
          after: { ...change },
        },
      ]);
      return next;
    });
    return campaignView(next);
  }

  private refusal(message: string): DomainError {
    return new DomainError(ErrorCode.TransitionNotAllowed, message);
  }

  private async selectMembers(m: EntityManager, input: CreateCampaignDto): Promise<string[]> {
    const { where, params } = memberCondition(input.selector);
    const rows = (await m.query(`SELECT c.id FROM clients c WHERE ${where} ORDER BY c.id FOR UPDATE OF c`, params)) as {
      id: string;
    }[];
    return rows.map((r) => r.id);
  }

  private async defaultBudget(m: EntityManager, serverId?: string): Promise<number> {
    if (serverId) {
      const server = await m.getRepository(AuthorizationServerEntity).findOneBy({ id: serverId });
      if (!server)
        throw DomainError.validation([{ field: 'selector.authorizationServerId', message: 'no such server' }]);
      return server.probeRatePerSecond;
    }
    const [row] = (await m.query(
      'SELECT coalesce(min(probe_rate_per_second), 20)::int AS rate FROM authorization_servers',
    )) as { rate: number }[];
    return row.rate;
  }
}

/** Clients (alias c) a selector takes: matching every criterion, not completed, not in an open campaign. */
function memberCondition(s: CampaignSelectorDto): { where: string; params: unknown[] } {
  const where = [
    `c.phase <> 'completed'`,
    `NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = c.campaign_id AND k.status <> 'completed')`,
  ];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (s.authorizationServerId) add('c.authorization_server_id = ?', s.authorizationServerId);
  if (s.owner) add('c.owner = ?', s.owner);
  if (s.tags?.length) add('c.tags @> ?::text[]', s.tags);
  if (s.phase) add('c.phase = ?', s.phase);
  return { where: where.join(' AND '), params };
}

/**
 * A selector with no criterion would take every eligible client: refused, never read as "all".
 * A criterion counts only if memberCondition uses it (IsOptional lets null and '' through).
 */
function assertNarrows(s: CampaignSelectorDto): void {
  const given = SELECTOR_CRITERIA.filter((k) => (k === 'tags' ? (s.tags?.length ?? 0) > 0 : Boolean(s[k])));
  if (given.length === 0) {
    throw DomainError.validation([
      { field: 'selector', message: `must set at least one of ${SELECTOR_CRITERIA.join(', ')}` },
    ]);
  }
}
