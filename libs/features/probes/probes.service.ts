import { Injectable } from '@nestjs/common';
import {
  chunk,
  Clock,
  decodeCursor,
  DomainError,
  encodeCursor,
  ErrorCode,
  isUuid,
  newId,
  Page,
} from '@keyshift/common';
import { JobName, JobPayload, JobQueue, ProbeTarget } from '@keyshift/queue';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuditRepository } from '../audit/audit.repository';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ClientEntity, SecretStatus } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { ClientSigningKeys } from './client-signing-keys';
import { ProbeMethod } from './probe.entity';
import { ProbesRepository } from './probes.repository';
import { probeBatching } from './probe-batching';
import { ProbeView, toProbeView } from './probe-view';
import { RequestProbeDto, StartSweepDto } from './probes.dto';

const SWEEP_BATCH = 2_000;

export interface SweepStatus {
  sweepId: string;
  probes: number;
  byOutcome: Record<string, number>;
}

/** The API side of probes: ask for one, list a client's evidence, and sweep part of the estate. */
@Injectable()
export class ProbesService {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly servers: AuthorizationServersRepository,
    private readonly probes: ProbesRepository,
    private readonly auditEvents: AuditRepository,
    private readonly queue: JobQueue,
    private readonly keys: ClientSigningKeys,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async request(
    clientRowId: string,
    input: RequestProbeDto,
    by: Principal,
  ): Promise<{ queued: true; method: ProbeMethod; dpop: boolean }> {
    const client = await this.clients.findById(clientRowId);
    if (!client) throw DomainError.notFound('client', clientRowId);
    const method = input.method ?? (client.authMethod as ProbeMethod);
    const dpop = input.dpop ?? false;
    if (method === ProbeMethod.PrivateKeyJwt && !(await this.keys.canSign(client.id))) {
      throw new DomainError(ErrorCode.TransitionNotAllowed, 'the client has no active signing key in Keyshift yet', {
        field: 'method',
      });
    }
    if (method !== ProbeMethod.PrivateKeyJwt && client.secretStatus !== SecretStatus.Present) {
      throw new DomainError(ErrorCode.TransitionNotAllowed, "Keyshift no longer holds the client's secret (shredded)", {
        field: 'method',
      });
    }
    await this.audit.record([
      {
        actor: actorOf(by),
        action: 'client.probe_requested',
        subjectType: 'client',
        subjectId: client.id,
        after: { method, dpop },
      },
    ]);
    await this.queue.enqueue(this.job(client, method, dpop, 'api', null));
    return { queued: true, method, dpop };
  }

  async list(clientRowId: string, limit = 50, cursor?: string): Promise<Page<ProbeView>> {
    const before = cursor ? decodeCursor(cursor, isUuid) : undefined;
    const rows = await this.probes.pageForClient(clientRowId, before, limit + 1);
    const items = rows.slice(0, limit).map(toProbeView);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }

  /**
   * Queues one probe (the client's current secret method) for every matching client that still has
   * its secret. Everything is read and the jobs built first, then the audit event is committed, and
   * only then is anything queued: a refused or failed request sends no token request.
   */
  async sweep(filter: StartSweepDto, by: Principal): Promise<{ sweepId: string; queued: number }> {
    const sweepId = newId();
    const targets = await this.sweepTargets(filter);
    const jobs = await this.jobs(targets, 'sweep', sweepId);
    await this.audit.record([
      {
        actor: actorOf(by),
        action: 'probe_sweep.started',
        subjectType: 'probe_sweep',
        subjectId: sweepId,
        after: { filter: { ...filter }, queued: targets.length },
      },
    ]);
    await this.queue.enqueueMany(jobs);
    return { sweepId, queued: targets.length };
  }

  private async sweepTargets(filter: StartSweepDto): Promise<ServerProbeTarget[]> {
    const targets: ServerProbeTarget[] = [];
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const batch = await this.clients.secretHoldersPage(filter, after, SWEEP_BATCH);
      if (batch.length === 0) break;
      for (const c of batch) {
        targets.push({
          serverId: c.authorizationServerId,
          clientRowId: c.id,
          method: c.authMethod as ProbeMethod,
          dpop: false,
        });
      }
      after = batch[batch.length - 1].id;
    }
    return targets;
  }

  /** A sweep exists once its start is audited (sweeps have no table of their own). */
  async sweepStatus(sweepId: string): Promise<SweepStatus> {
    if (!(await this.auditEvents.anyEventFor('probe_sweep', sweepId)))
      throw DomainError.notFound('probe sweep', sweepId);
    const rows = await this.probes.sweepOutcomes(sweepId);
    return {
      sweepId,
      probes: rows.reduce((sum, r) => sum + r.n, 0),
      byOutcome: Object.fromEntries(rows.map((r) => [r.outcome, r.n])),
    };
  }

  /** The job for one probe asked for through the API. */
  job(
    client: Pick<ClientEntity, 'id' | 'authorizationServerId'>,
    method: ProbeMethod,
    dpop: boolean,
    purpose: string,
    sweepId: string | null,
  ): JobPayload {
    return this.batchJob(client.authorizationServerId, [{ clientRowId: client.id, method, dpop }], purpose, sweepId);
  }

  /** Jobs for many probes: per server, in batches sized to that server's limits (probeBatching). */
  async jobs(targets: ServerProbeTarget[], purpose: string, sweepId: string | null): Promise<JobPayload[]> {
    const byServer = new Map<string, ProbeTarget[]>();
    for (const { serverId, ...target } of targets) {
      const list = byServer.get(serverId) ?? byServer.set(serverId, []).get(serverId)!;
      list.push(target);
    }
    const servers = await this.servers.probeLimits([...byServer.keys()]);
    return servers.flatMap((s) => {
      const { probesPerJob } = probeBatching({ ratePerSecond: s.probeRatePerSecond, concurrency: s.probeConcurrency });
      return chunk(byServer.get(s.id)!, probesPerJob).map((batch) => this.batchJob(s.id, batch, purpose, sweepId));
    });
  }

  private batchJob(serverId: string, targets: ProbeTarget[], purpose: string, sweepId: string | null): JobPayload {
    return {
      name: JobName.Probe,
      data: { serverId, targets, purpose, sweepId, requestedAt: this.clock.now().getTime() },
    };
  }
}

export type ServerProbeTarget = ProbeTarget & { serverId: string };
