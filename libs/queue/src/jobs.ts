import { JobsOptions } from 'bullmq';

export enum QueueName {
  Reconcile = 'reconcile',
}

export enum JobName {
  /** Fan-out: release expired leases, lease due clients, enqueue one job per leased client. */
  ReconcileSweep = 'reconcile.sweep',
  /** Carry out one leased client's current phase. */
  ReconcileClient = 'reconcile.client',
}

/** Every job Keyshift queues. Payloads carry ids only: never a secret, token or key. */
export type JobPayload =
  | { name: JobName.ReconcileSweep; data: { tick: number } }
  | { name: JobName.ReconcileClient; data: { clientRowId: string; leaseId: string } };

export type PayloadOf<N extends JobName> = Extract<JobPayload, { name: N }>['data'];

export const QUEUE_OF: Record<JobName, QueueName> = {
  [JobName.ReconcileSweep]: QueueName.Reconcile,
  [JobName.ReconcileClient]: QueueName.Reconcile,
};

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
  }
}

/** Retry and retention policy per job, in one place. */
export const JOB_OPTIONS: Record<JobName, JobsOptions> = {
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
};
