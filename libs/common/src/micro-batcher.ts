/**
 * Group commit for concurrent callers: items are handed to `flush` together, one flush at a time.
 * While a flush runs, new items accumulate and go in the next one, so under load batches grow by
 * themselves instead of queueing on a lock; when idle, an item waits at most `maxWaitMs`. Each
 * `add` resolves when its batch has been flushed (or rejects with the batch's error), so callers
 * keep "written before I go on" semantics.
 */
export class MicroBatcher<T> {
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly maxItems = 1_000,
    private readonly maxWaitMs = 5,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.flushing) return; // the running flush picks these up when it finishes
      if (this.pending.length >= this.maxItems) void this.drain();
      else this.timer ??= setTimeout(() => void this.drain(), this.maxWaitMs);
    });
  }

  private async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxItems);
        try {
          await this.flush(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
