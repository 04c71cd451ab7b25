/** How many probes one BullMQ job carries at most. */
export const MAX_PROBES_PER_JOB = 8;

export interface ProbeBatching {
  /** Probes per job: sweeps cut their work into jobs of this size. */
  probesPerJob: number;
  /** Jobs one worker runs at once: jobs × probes per job never exceeds the server's probe concurrency. */
  jobConcurrency: number;
  /** Jobs per second for BullMQ's limiter: jobs × probes per job never exceeds the server's probe rate. */
  jobsPerSecond: number;
}

/**
 * BullMQ's limiter and concurrency count jobs, and a job's lifecycle (several Redis round trips) cost
 * more than the token request itself. So a sweep packs several probes into one job and the limits
 * are divided by the batch size. The batch stays small enough that one job never spends more than a
 * tenth of a second's rate budget, nor more than the server's whole concurrency.
 */
export function probeBatching(limits: { ratePerSecond: number; concurrency: number }): ProbeBatching {
  const probesPerJob = Math.max(
    1,
    Math.min(MAX_PROBES_PER_JOB, Math.floor(limits.ratePerSecond / 10), limits.concurrency),
  );
  return {
    probesPerJob,
    jobConcurrency: Math.max(1, Math.floor(limits.concurrency / probesPerJob)),
    jobsPerSecond: limits.ratePerSecond / probesPerJob,
  };
}
