import DataLoader from 'dataloader';

/** How long a read waits for company before its batch goes to the database. */
const BATCH_WINDOW_MS = 5;

/**
 * A DataLoader that gathers reads by key from concurrent callers (jobs running side by side)
 * into one `WHERE id = ANY($1)` query. Caching is off: every load reads fresh rows, it only
 * shares the round trip. Missing keys resolve to null.
 */
export function batchedReads<K, V>(fetch: (keys: readonly K[]) => Promise<Map<K, V>>): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(
    async (keys) => {
      const found = await fetch(keys);
      return keys.map((k) => found.get(k) ?? null);
    },
    { cache: false, maxBatchSize: 500, batchScheduleFn: (run) => setTimeout(run, BATCH_WINDOW_MS) },
  );
}
