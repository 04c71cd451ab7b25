import { Inject, Injectable } from '@nestjs/common';
import { Clock, decodeCursor, DomainError, encodeCursor, ErrorCode, isUuid, newId, Page } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, Tx } from '@keyshift/database';
import { assignWaves, nextCampaignMove } from '@keyshift/domain';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { criteriaGiven } from '../ports/client-filter';
import { CampaignEntity, CampaignStatus } from './campaign.entity';
import { CampaignFailure, campaignView, CampaignView } from './campaign-view';
import { CampaignSelectorDto, CreateCampaignDto, ResumeCampaignDto, SELECTOR_CRITERIA } from './campaigns.dto';
import { CampaignsRepository } from './campaigns.repository';

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
    private readonly campaigns: CampaignsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async create(input: CreateCampaignDto, by: Principal): Promise<CampaignView> {
    assertNarrows(input.selector);
    const now = this.clock.now();
    const id = newId();
    const campaign = await this.transactions.run(async (m) => {
      const budget = input.serverBudgetPerSecond ?? (await this.defaultBudget(m, input.selector.authorizationServerId));
      const members = await this.campaigns.lockEligibleMembers(m, input.selector);
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
      await this.campaigns.insert(m, row);
      await this.campaigns.assignMembers(m, id, members, waves);
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
    return this.transactions.run(async (m) => {
      if (input.serverBudgetPerSecond === undefined) await this.defaultBudget(m, input.selector.authorizationServerId);
      const { byPhase, byServer, firstIds } = await this.campaigns.previewEligibleMembers(
        m,
        input.selector,
        DRY_RUN_IDS_SHOWN,
      );
      const members = byPhase.reduce((sum, r) => sum + r.n, 0);
      const waves = members ? assignWaves(members, input.canarySize, input.waveSize) : [];
      return {
        dryRun: true,
        members,
        waveCount: waves.length ? waves[waves.length - 1] + 1 : 0,
        byPhase: Object.fromEntries(byPhase.map((r) => [r.phase, r.n])),
        byAuthorizationServer: byServer.map((r) => ({ authorizationServerId: r.id, name: r.name, members: r.n })),
        firstMemberIds: firstIds,
      };
    }, 'REPEATABLE READ');
  }

  async get(id: string): Promise<CampaignView> {
    const campaign = await this.campaigns.findById(id);
    if (!campaign) throw DomainError.notFound('campaign', id);
    const [byPhaseRows, tallies, failures] = await Promise.all([
      this.campaigns.memberCountsByPhaseAndState(id),
      this.campaigns.waveTallies(id),
      this.campaigns.failedMembers(id, FAILURES_SHOWN),
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
    const rows = await this.campaigns.listBefore(before, limit + 1);
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
      const move = nextCampaignMove({ ...c, maxFailureRate, waves: await this.campaigns.waveTallies(c.id, m) });
      if (move.move === 'pause') {
        throw this.refusal(
          `${move.reason}; resolve the failed clients (GET /v1/campaigns/${c.id} lists them) or raise maxFailureRate`,
        );
      }
      await this.campaigns.wakeMembers(m, c.id, c.releasedWave);
      return { status: CampaignStatus.Running, pausedReason: null, maxFailureRate };
    });
  }

  /** One status change under the row's version, with its audit event. */
  private async change(
    id: string,
    by: Principal,
    action: string,
    decide: (c: CampaignEntity, m: Tx) => Partial<CampaignEntity> | Promise<Partial<CampaignEntity>>,
  ): Promise<CampaignView> {
    const next = await this.transactions.run(async (m) => {
      const current = await this.campaigns.findById(id, m);
      if (!current) throw DomainError.notFound('campaign', id);
      const change = await decide(current, m);
      const next = { ...current, ...change, version: current.version + 1, updatedAt: this.clock.now() };
      const updated = await this.campaigns.updateAtVersion(m, id, current.version, {
        ...change,
        version: next.version,
        updatedAt: next.updatedAt,
      });
      if (!updated) throw new DomainError(ErrorCode.VersionConflict, 'the campaign changed meanwhile; retry');
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

  /**
   * The request budget when the campaign names none: the selected server's probe rate, else the
   * lowest of all servers', else the configured default probe rate (KEYSHIFT_PROBE_RATE_PER_SECOND).
   */
  private async defaultBudget(m: Tx, serverId?: string): Promise<number> {
    if (serverId) {
      const rate = await this.campaigns.serverProbeRate(m, serverId);
      if (rate === null)
        throw DomainError.validation([{ field: 'selector.authorizationServerId', message: 'no such server' }]);
      return rate;
    }
    return (await this.campaigns.lowestProbeRate(m)) ?? this.config.probes.defaultRatePerSecond;
  }
}

/**
 * A selector with no criterion would take every eligible client: refused, never read as "all".
 * A criterion counts only if the client filter uses it (IsOptional lets null and '' through).
 */
function assertNarrows(s: CampaignSelectorDto): void {
  if (criteriaGiven(s).length === 0) {
    throw DomainError.validation([
      { field: 'selector', message: `must set at least one of ${SELECTOR_CRITERIA.join(', ')}` },
    ]);
  }
}
