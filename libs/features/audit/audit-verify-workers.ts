import { Worker } from 'node:worker_threads';
import type { ClientConfig } from 'pg';
import { ChainBreak, ChainVerifier, SegmentSummary } from './audit-chain';

/** What a verify worker starts with (see audit-verify.worker.ts). */
export interface VerifyWorkerData {
  connection: ClientConfig;
  /** From pg_export_snapshot(): the worker reads exactly what the API's transaction sees. */
  snapshot: string;
  batch: number;
  /** The HMAC key of the chain (derived from the master key): never logged, never in an error. */
  chainKey: Uint8Array;
  /** The first keyed event, from the sealed head (see ChainHasher). */
  keyedFrom: string | null;
}

export type ToVerifyWorker = { type: 'segment'; id: number; from: string; to: string } | { type: 'close' };

export type FromVerifyWorker =
  { type: 'ready' } | { type: 'segment'; id: number; summary: SegmentSummary } | { type: 'failed'; message: string };

export interface WorkerWalkOptions {
  /** The compiled worker (audit-verify.worker.js). */
  script: string;
  workers: number;
  /** Events per segment handed to a worker. */
  segment: number;
  data: VerifyWorkerData;
}

/**
 * Walks the events in (from, to] on worker threads. The range is cut into segments, handed out as
 * workers free up (two queued per worker, so none waits for the next), and the summaries are joined
 * into `verifier` strictly in seq order, so the break reported is the chain's first. No segment is
 * handed out after it.
 */
export async function walkOnWorkers(
  verifier: ChainVerifier,
  from: bigint,
  to: bigint,
  options: WorkerWalkOptions,
): Promise<ChainBreak | null> {
  const segments: [bigint, bigint][] = [];
  const size = BigInt(options.segment);
  for (let a = from; a < to;) {
    const b = a + size < to ? a + size : to;
    segments.push([a, b]);
    a = b;
  }
  if (segments.length === 0) return null;
  const threads: Thread[] = [];
  // Walked to the end: the workers are idle and may close their connections. Otherwise they may still be busy.
  let complete = false;
  try {
    return await new Promise<ChainBreak | null>((resolve, reject) => {
      const finished = new Map<number, SegmentSummary>();
      let joined = 0;
      let handedOut = 0;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
      };
      const handOut = (worker: Worker) => {
        if (settled || handedOut >= segments.length) return;
        const id = handedOut++;
        const [a, b] = segments[id];
        worker.postMessage({ type: 'segment', id, from: String(a), to: String(b) } satisfies ToVerifyWorker);
      };
      for (let i = 0; i < Math.min(options.workers, segments.length); i++) {
        // A larger young generation: a batch's decoded events all die young; with V8's default
        // (16 MiB) many survive into old space first. Measured: about 15% less CPU per event.
        const worker = new Worker(options.script, {
          workerData: options.data,
          resourceLimits: { maxYoungGenerationSizeMb: 64 },
        });
        const thread: Thread = { worker, alive: true, exited: new Promise((r) => worker.once('exit', r)) };
        threads.push(thread);
        worker.on('message', (message: FromVerifyWorker) => {
          if (message.type === 'failed')
            return settle(() => reject(new Error(`audit verify worker: ${message.message}`)));
          if (message.type === 'ready') {
            handOut(worker);
            handOut(worker);
            return;
          }
          finished.set(message.id, message.summary);
          while (!settled && finished.has(joined)) {
            const problem = verifier.join(finished.get(joined)!);
            finished.delete(joined++);
            if (problem) return settle(() => resolve(problem));
          }
          if (joined === segments.length) {
            complete = true;
            return settle(() => resolve(null));
          }
          handOut(worker);
        });
        worker.on('error', (error) => settle(() => reject(error)));
        worker.on('exit', (code) => {
          thread.alive = false;
          settle(() => reject(new Error(`audit verify worker exited early (code ${code})`)));
        });
      }
    });
  } finally {
    await Promise.all(threads.map((thread) => close(thread, complete)));
  }
}

interface Thread {
  worker: Worker;
  exited: Promise<unknown>;
  alive: boolean;
}

/**
 * An idle worker ends its connection and exits (terminated if that takes over a second); one still
 * walking segments nobody needs (after a break or a failure) is terminated at once, which drops its
 * connection and with it its read-only transaction.
 */
async function close(thread: Thread, graceful: boolean): Promise<void> {
  if (!thread.alive) return;
  if (!graceful) {
    await thread.worker.terminate();
    return;
  }
  thread.worker.postMessage({ type: 'close' } satisfies ToVerifyWorker);
  const timer = setTimeout(() => void thread.worker.terminate(), 1_000);
  await thread.exited;
  clearTimeout(timer);
}
