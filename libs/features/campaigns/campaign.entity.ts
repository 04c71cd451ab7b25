import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

export enum CampaignStatus {
  Running = 'running',
  /** Paused by an operator, or by Keyshift when the failure rate was exceeded (`pausedReason`). */
  Paused = 'paused',
  Completed = 'completed',
}

/** Which clients a campaign takes, fixed when it is created. */
export interface CampaignSelector {
  authorizationServerId?: string;
  owner?: string;
  /** Clients carrying every one of these tags. */
  tags?: string[];
  phase?: string;
}

/**
 * A wave-by-wave migration of part of the estate. Members are clients with `campaign_id` set and
 * a wave number (0 is the canary); the campaign tick releases the next wave once the previous one
 * passed, and pauses the campaign when too many of the released clients failed.
 */
@Entity({ name: 'campaigns' })
@Check('CHK_campaigns_status', `"status" IN ('running', 'paused', 'completed')`)
@Check('CHK_campaigns_sizes', `"canary_size" >= 0 AND "wave_size" > 0 AND "server_budget_per_second" > 0`)
@Check('CHK_campaigns_failure_rate', `"max_failure_rate" >= 0 AND "max_failure_rate" <= 1`)
export class CampaignEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('jsonb')
  selector!: CampaignSelector;

  @Column('integer', { name: 'canary_size' })
  canarySize!: number;

  @Column('integer', { name: 'wave_size' })
  waveSize!: number;

  /** Failed or blocked clients over released clients, above which the campaign pauses itself. */
  @Column('double precision', { name: 'max_failure_rate' })
  maxFailureRate!: number;

  /** Requests per second the campaign's work may send to each authorization server. */
  @Column('integer', { name: 'server_budget_per_second' })
  serverBudgetPerSecond!: number;

  @Column('text')
  status!: CampaignStatus;

  @Column('text', { name: 'paused_reason', nullable: true })
  pausedReason!: string | null;

  /** The highest wave whose clients may advance; -1 before the canary is released. */
  @Column('integer', { name: 'released_wave' })
  releasedWave!: number;

  @Column('integer', { name: 'wave_count' })
  waveCount!: number;

  @Column('integer', { name: 'member_count' })
  memberCount!: number;

  @Column('text', { name: 'created_by' })
  createdBy!: string;

  @Column('integer')
  version!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}
