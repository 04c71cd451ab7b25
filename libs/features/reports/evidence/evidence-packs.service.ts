import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { ReadSnapshots } from '@keyshift/database';
import { AuditLog } from '../../audit/audit-log.service';
import { ReportSigner } from '../../signing/report-signer';
import { reportedSecretStatus } from '../estate-rows';
import { Queryable } from '../estate-summary.repository';
import {
  AuditRecord,
  chainState,
  citedProbeId,
  evidenceProbes,
  secretAccesses,
  subjectEvents,
  packCampaign,
  packCampaignMembers,
  packClient,
  packClientKeys,
} from './evidence-records.repository';

/** Members' transitions are read this many clients per query. */
const MEMBER_BATCH = 1_000;

export interface SignedPack {
  jws: string;
  kid: string;
  /** SHA-256 (hex) of the JWS as issued, recorded in the audit event that says it was issued. */
  sha256: string;
}

/**
 * Evidence packs: a client's (or a campaign's) timeline with every transition, the actor, the
 * probe that justified it and the audit chain links, as a compact JWS signed with Keyshift's
 * report-signing key (verify offline against /.well-known/jwks.json). Each issue is audited.
 */
@Injectable()
export class EvidencePacks {
  constructor(
    private readonly snapshots: ReadSnapshots,
    private readonly signer: ReportSigner,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async client(id: string, actor: string): Promise<SignedPack> {
    const payload = await this.snapshots.run((db) => this.clientPayload(db, id));
    return this.issue(payload, 'client', id, actor);
  }

  /** A campaign's pack: built by the worker (a campaign may hold thousands of members). */
  async campaign(id: string, actor: string): Promise<SignedPack> {
    const payload = await this.snapshots.run((db) => this.campaignPayload(db, id));
    return this.issue(payload, 'campaign', id, actor);
  }

  private async issue(payload: object, subjectType: string, subjectId: string, actor: string): Promise<SignedPack> {
    const { jws, kid } = await this.signer.sign(payload);
    const sha256 = createHash('sha256').update(jws).digest('hex');
    await this.audit.record([{ actor, action: 'evidence.issued', subjectType, subjectId, after: { kid, sha256 } }]);
    return { jws, kid, sha256 };
  }

  private envelope(kind: string) {
    return { iss: this.config.api.publicUrl, iat: Math.floor(this.clock.now().getTime() / 1000), kind, version: 1 };
  }

  private async clientPayload(db: Queryable, id: string) {
    const client = await packClient(db, id);
    if (!client) throw DomainError.notFound('client', id);
    const timeline = await subjectEvents(db, 'client', [id]);
    const cited = [
      ...citedIds(timeline),
      ...(client.secret_revocation_probe_id ? [String(client.secret_revocation_probe_id)] : []),
    ];
    const keys = await packClientKeys(db, id);
    return {
      ...this.envelope('keyshift.client_evidence'),
      sub: id,
      client: {
        id,
        clientId: client.client_id,
        authorizationServer: { id: client.server_id, name: client.server_name, issuer: client.issuer },
        owner: client.owner,
        tags: client.tags,
        phase: client.phase,
        state: client.state,
        stateReason: client.state_reason,
        authMethod: client.auth_method,
        target: {
          authMethod: client.target_auth_method,
          senderConstraint: client.target_sender_constraint,
          strategy: client.target_strategy,
        },
        successorClientId: client.successor_client_id,
        secret: {
          status: reportedSecretStatus(String(client.secret_status)),
          revokedAt: (client.secret_revoked_at as Date | null)?.toISOString() ?? null,
          evidenceProbeId: client.secret_revocation_probe_id,
        },
        campaignId: client.campaign_id,
        createdAt: (client.created_at as Date).toISOString(),
      },
      keys,
      timeline: timeline.map((e) => ({ ...e, evidenceProbeId: citedProbeId(e) })),
      ...(await probesMember(db, [id], cited)),
      secretAccesses: await secretAccesses(db, id),
      chain: await chainState(db),
    };
  }

  private async campaignPayload(db: Queryable, id: string) {
    const campaign = await packCampaign(db, id);
    if (!campaign) throw DomainError.notFound('campaign', id);
    const members = await packCampaignMembers(db, id);
    const memberViews = [];
    const cited: string[] = [];
    for (let i = 0; i < members.length; i += MEMBER_BATCH) {
      const batch = members.slice(i, i + MEMBER_BATCH);
      const events = await subjectEvents(
        db,
        'client',
        batch.map((m) => m.id),
      );
      const bySubject = new Map<string, AuditRecord[]>();
      for (const e of events) {
        const list = bySubject.get(e.subjectId);
        if (list) list.push(e);
        else bySubject.set(e.subjectId, [e]);
      }
      for (const m of batch) {
        const transitions = (bySubject.get(m.id) ?? []).map(transitionLink);
        cited.push(...transitions.flatMap((t) => (t.evidenceProbeId ? [t.evidenceProbeId] : [])));
        if (m.secret_revocation_probe_id) cited.push(m.secret_revocation_probe_id);
        memberViews.push({
          id: m.id,
          clientId: m.client_id,
          wave: m.campaign_wave,
          phase: m.phase,
          state: m.state,
          stateReason: m.state_reason,
          secret: {
            status: reportedSecretStatus(m.secret_status),
            revokedAt: m.secret_revoked_at?.toISOString() ?? null,
            evidenceProbeId: m.secret_revocation_probe_id,
          },
          transitions,
        });
      }
    }
    return {
      ...this.envelope('keyshift.campaign_evidence'),
      sub: id,
      campaign,
      campaignEvents: await subjectEvents(db, 'campaign', [id]),
      members: memberViews,
      // Cited probes only: a campaign's soak probes would dwarf the rest; each client's own pack has them.
      ...(await probesMember(db, [], cited)),
      chain: await chainState(db),
    };
  }
}

/** The pack's `probes`, and `probesOmitted` when older uncited ones were left out. */
async function probesMember(db: Queryable, clientRowIds: string[], cited: string[]) {
  const { probes, omitted } = await evidenceProbes(db, clientRowIds, cited);
  return omitted ? { probes, probesOmitted: omitted } : { probes };
}

function citedIds(events: AuditRecord[]): string[] {
  return events.flatMap((e) => {
    const id = citedProbeId(e);
    return id ? [id] : [];
  });
}

/**
 * A transition as a campaign pack quotes it: its chain link (seq, prevHash, hash: match it against
 * GET /v1/audit/events or the client's own pack, which has the whole event) and what it changed.
 */
function transitionLink(e: AuditRecord) {
  const after = e.after as { phase?: string; state?: string } | null;
  const before = e.before as { phase?: string; state?: string } | null;
  return {
    seq: e.seq,
    prevHash: e.prevHash,
    hash: e.hash,
    occurredAt: e.occurredAt,
    actor: e.actor,
    action: e.action,
    from: before ? { phase: before.phase, state: before.state } : null,
    to: after ? { phase: after.phase, state: after.state } : null,
    evidenceProbeId: citedProbeId(e),
  };
}
