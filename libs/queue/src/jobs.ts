import { JobsOptions } from 'bullmq';

export enum QueueName {
  Reconcile = 'reconcile',
  Discovery = 'discovery',
  /** A prefix: each authorization server has its own probe queue, `probe.<server id>`, with its own rate limit. */
  Probe = 'probe',
  /** Reports and evidence packs: long, CPU-heavy jobs kept apart so they never delay a phase. */
  Reports = 'reports',
}

/** Queues with fixed names, worked by JobWorkerHost; probe queues are started per server by ProbeWorkerPool. */
export const STATIC_QUEUES: readonly QueueName[] = [QueueName.Reconcile, QueueName.Discovery, QueueName.Reports];

/** Jobs one worker process runs at once on a queue, where not KEYSHIFT_WORKER_CONCURRENCY. */
export const QUEUE_CONCURRENCY: Partial<Record<QueueName, number>> = { [QueueName.Reports]: 1 };

export enum JobName {
  /** Fan-out: release expired leases, lease due clients, enqueue one job per leased client. */
  ReconcileSweep = 'reconcile.sweep',
  /** Carry out one leased client's current phase. */
  ReconcileClient = 'reconcile.client',
  /** Read an authorization server's metadata document and record its capabilities. */
  DiscoverServer = 'discovery.server',
  /** Token-endpoint probes of one server's clients, each with one method. */
  Probe = 'probe.client',
  /** Fan-out: probe every client whose phase needs fresher evidence. */
  ProbeSweep = 'probe.sweep',
  /** Fan-out: start scheduled key rotations that are due, and queue rotation steps that are due. */
  KeyRotationTick = 'keys.rotation_tick',
  /** Run one key rotation's current step. */
  KeyRotationStep = 'keys.rotation_step',
  /** Put a client's registration at its server back to what its phase needs (after a rollback or failed cutover). */
  ServerRevert = 'client.server_revert',
  /** Fan-out: judge every running campaign's waves; release, pause or complete. */
  CampaignTick = 'campaigns.tick',
  /** Produce one requested report (estate PDF/CSV/JSON, campaign evidence pack) into its chunks. */
  ReportRender = 'reports.render',
  /** Fan-out: delete expired reports, re-queue reports whose job was lost. */
  ReportTick = 'reports.tick',
  /** Walk the whole audit chain if the last scheduled full verification is older than its period. */
  AuditVerifyTick = 'audit.verify_tick',
  /** List every client at a server through its admin API, a page at a time (estate discovery). */
  InventoryRun = 'inventory.run',
  /** Fan-out: queue again inventory runs whose job was lost (no progress, no live job). */
  InventoryTick = 'inventory.tick',
}

/** Every job Keyshift queues. Payloads carry ids only: never a secret, token or key. */
export type JobPayload =
  | { name: JobName.ReconcileSweep; data: { tick: number } }
  | { name: JobName.ReconcileClient; data: { clientRowId: string; leaseId: string } }
  | {
      name: JobName.DiscoverServer;
      /** `serverVersion`: asked for because the server's settings changed (e.g. its trusted hosts). */
      data: { serverId: string; requestedAt: number; serverVersion?: number };
    }
  | { name: JobName.ProbeSweep; data: { tick: number } }
  | { name: JobName.KeyRotationTick; data: { tick: number } }
  | { name: JobName.KeyRotationStep; data: { rotationId: string; version: number } }
  | { name: JobName.ServerRevert; data: { clientRowId: string; version: number } }
  | { name: JobName.CampaignTick; data: { tick: number } }
  | { name: JobName.ReportRender; data: { reportId: string; attempt: number } }
  | { name: JobName.ReportTick; data: { tick: number } }
  | { name: JobName.AuditVerifyTick; data: { tick: number } }
  | { name: JobName.InventoryRun; data: { runId: string; generation: number } }
  | { name: JobName.InventoryTick; data: { tick: number } }
  | {
      name: JobName.Probe;
      data: {
        serverId: string;
        /** One probe for a request from the API; up to a few for a sweep (see probeBatching). */
        targets: ProbeTarget[];
        purpose: string;
        sweepId: string | null;
        requestedAt: number;
        /** Transient failures so far (set by the worker; the job gives up after the configured maximum). */
        transientFailures?: number;
      };
    };

/** One token-endpoint probe: which client, with which method. */
export interface ProbeTarget {
  clientRowId: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  dpop: boolean;
}

export type PayloadOf<N extends JobName> = Extract<JobPayload, { name: N }>['data'];

export const QUEUE_OF: Record<JobName, QueueName> = {
  [JobName.ReconcileSweep]: QueueName.Reconcile,
  [JobName.ReconcileClient]: QueueName.Reconcile,
  [JobName.DiscoverServer]: QueueName.Discovery,
  [JobName.Probe]: QueueName.Probe,
  [JobName.ProbeSweep]: QueueName.Reconcile,
  [JobName.KeyRotationTick]: QueueName.Reconcile,
  [JobName.KeyRotationStep]: QueueName.Reconcile,
  [JobName.ServerRevert]: QueueName.Reconcile,
  [JobName.CampaignTick]: QueueName.Reconcile,
  [JobName.ReportRender]: QueueName.Reports,
  [JobName.ReportTick]: QueueName.Reconcile,
  [JobName.AuditVerifyTick]: QueueName.Reconcile,
  [JobName.InventoryRun]: QueueName.Discovery,
  [JobName.InventoryTick]: QueueName.Reconcile,
};

/** The queue a job goes to: its fixed queue, or for probes the server's own. */
export function queueNameOf(job: JobPayload): string {
  return job.name === JobName.Probe ? probeQueueName(job.data.serverId) : QUEUE_OF[job.name];
}

export function probeQueueName(serverId: string): string {
  return `${QueueName.Probe}.${serverId}`;
}

/**
 * Deterministic job ids make enqueueing idempotent: the same tick or the same lease is queued once
 * however many replicas or retries try. (BullMQ forbids ':' in custom ids, hence '/'.)
 */
export function jobIdOf(job: JobPayload): string {
  switch (job.name) {
    case JobName.ReconcileSweep:
      return `${job.name}/${job.data.tick}`;
    case JobName.ReconcileClient:
      return `${job.name}/${job.data.clientRowId}/${job.data.leaseId}`;
    case JobName.DiscoverServer:
      // Requests within the same 10 s collapse into one fetch; a settings change is judged afresh, once.
      if (job.data.serverVersion !== undefined) return `${job.name}/${job.data.serverId}/v${job.data.serverVersion}`;
      return `${job.name}/${job.data.serverId}/${Math.floor(job.data.requestedAt / 10_000)}`;
    case JobName.ProbeSweep:
    case JobName.KeyRotationTick:
    case JobName.CampaignTick:
    case JobName.ReportTick:
    case JobName.AuditVerifyTick:
      return `${job.name}/${job.data.tick}`;
    case JobName.ReportRender:
      // The attempt is counted on the report row: a re-queue after a lost job is a new job.
      return `${job.name}/${job.data.reportId}/${job.data.attempt}`;
    case JobName.ServerRevert:
      return `${job.name}/${job.data.clientRowId}/${job.data.version}`;
    case JobName.InventoryRun:
      return `${job.name}/${job.data.runId}/${job.data.generation}`;
    case JobName.InventoryTick:
      return `${job.name}/${job.data.tick}`;
    case JobName.KeyRotationStep:
      // A step writes the row's version forward, so the next step (or a retry) is a new job.
      return `${job.name}/${job.data.rotationId}/${job.data.version}`;
    case JobName.Probe: {
      // One job per client, method and sweep (or per second for ad-hoc requests); a batch is named
      // by its first probe and its size, which a sweep's ordered walk makes the same on every try.
      const first = job.data.targets[0];
      const what = `${first.clientRowId}/${first.method}${first.dpop ? '+dpop' : ''}`;
      const batch = job.data.targets.length > 1 ? `+${job.data.targets.length - 1}` : '';
      return `${job.name}/${what}${batch}/${job.data.sweepId ?? Math.floor(job.data.requestedAt / 1000)}`;
    }
  }
}

/** Attempts an inventory run's job gets before the run is failed. */
export const INVENTORY_ATTEMPTS = 6;

/** Retry and retention policy per job, in one place. */
export const JOB_OPTIONS: Record<JobName, JobsOptions> = {
  [JobName.InventoryTick]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.InventoryRun]: {
    // The run row keeps its cursor after each page: a retry resumes where the last attempt stood.
    // The last attempt fails the run with the reason (InventoryRunHandler).
    attempts: INVENTORY_ATTEMPTS,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { count: 100 },
  },
  [JobName.ReconcileSweep]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 1_000 },
  },
  [JobName.ReconcileClient]: {
    // A lost client job is not lost work: the lease expires and the sweep hands the client out again.
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 1_000, age: 3600 },
    removeOnFail: { count: 10_000 },
  },
  [JobName.Probe]: {
    // Transient outcomes are retried through the server's queue pause (see ProbeJobHandler), which
    // does not spend attempts; attempts here cover crashes of the handler itself.
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    // The evidence is in PostgreSQL; keeping completed probe jobs in Redis would only cost writes.
    removeOnComplete: true,
    removeOnFail: { count: 10_000 },
  },
  [JobName.ProbeSweep]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.KeyRotationTick]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.KeyRotationStep]: {
    // A step's failures are recorded on the rotation row and retried through it; these attempts
    // cover a handler that cannot even write that (database away). Finished jobs are not kept: the
    // tick re-queues a due step under the same id, which a kept job would block.
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: true,
  },
  [JobName.ServerRevert]: {
    // The client row keeps `server_revert_to` until the revert is done, and the reconcile sweep
    // queues it again if the job was lost. A failed job is kept so that re-queueing under the same
    // id (same client version) does nothing until the client changes.
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { count: 10_000 },
  },
  [JobName.CampaignTick]: {
    attempts: 2,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.ReportRender]: {
    // Retries are the reports tick's: it counts each attempt on the report row and re-queues under
    // a new id, so BullMQ itself must not run a job twice.
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 1_000 },
  },
  [JobName.ReportTick]: {
    attempts: 2,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.AuditVerifyTick]: {
    // The outcome is recorded by the walk itself; a lost or failed tick is retried by the next one.
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  [JobName.DiscoverServer]: {
    // Only transient failures (unreachable, timeout, 429, 5xx) throw and so retry: 2, 4, 8, 16 s.
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 1_000 },
    removeOnFail: { count: 1_000 },
  },
};
