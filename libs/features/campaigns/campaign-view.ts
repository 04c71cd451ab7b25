import { CampaignEntity, CampaignSelector } from './campaign.entity';

export interface CampaignFailure {
  clientRowId: string;
  clientId: string;
  wave: number;
  phase: string;
  state: string;
  reason: string | null;
}

export interface CampaignView {
  id: string;
  name: string;
  selector: CampaignSelector;
  canarySize: number;
  waveSize: number;
  maxFailureRate: number;
  serverBudgetPerSecond: number;
  status: string;
  pausedReason: string | null;
  releasedWave: number;
  waveCount: number;
  members: number;
  createdAt: string;
  finishedAt: string | null;
  progress?: {
    /** Members by phase and state. */
    byPhase: Record<string, Record<string, number>>;
    /** Per wave: members, completed, failed (or blocked). */
    waves: { wave: number; members: number; completed: number; failed: number; released: boolean }[];
    failureRate: number;
    failures: CampaignFailure[];
  };
}

export function campaignView(c: CampaignEntity): CampaignView {
  return {
    id: c.id,
    name: c.name,
    selector: c.selector,
    canarySize: c.canarySize,
    waveSize: c.waveSize,
    maxFailureRate: c.maxFailureRate,
    serverBudgetPerSecond: c.serverBudgetPerSecond,
    status: c.status,
    pausedReason: c.pausedReason,
    releasedWave: c.releasedWave,
    waveCount: c.waveCount,
    members: c.memberCount,
    createdAt: c.createdAt.toISOString(),
    finishedAt: c.finishedAt?.toISOString() ?? null,
  };
}
