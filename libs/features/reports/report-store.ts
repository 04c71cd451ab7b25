import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

/** Content is stored in chunks of this size: a report never has to fit in memory, or in one bytea. */
export const CHUNK_BYTES = 1 << 20;

/** Stores one chunk (ReportsRepository.insertChunk, in the render's transaction). */
export type StoreChunk = (seq: number, data: Buffer) => Promise<void>;

/**
 * Writes a report's content into `report_chunks` as it is produced, one chunk per MiB, and keeps
 * its size and SHA-256. The caller commits (or rolls back) the surrounding transaction.
 */
export class ReportChunkWriter extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private readonly digest = createHash('sha256');
  byteSize = 0;

  constructor(private readonly store: StoreChunk) {
    super();
  }

  get sha256(): string {
    return this.digest.copy().digest('hex');
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.digest.update(bytes);
    this.byteSize += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes < CHUNK_BYTES) return done();
    this.flushChunk().then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (this.pendingBytes ? this.flushChunk() : Promise.resolve()).then(() => done(), done);
  }

  private async flushChunk(): Promise<void> {
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.store(this.seq++, data);
  }
}

/**
 * A stored report's content, read back one chunk per query. It must add up to `byteSize`: a chunk
 * gone meanwhile (the report expired mid-download) fails the stream rather than ending it short.
 */
export function readReportChunks(
  chunk: (reportId: string, seq: number) => Promise<Buffer | null>,
  reportId: string,
  byteSize: number,
): Readable {
  return Readable.from(
    (async function* () {
      let read = 0;
      for (let seq = 0; read < byteSize; seq++) {
        const data = await chunk(reportId, seq);
        if (!data) throw new Error(`report ${reportId} lost chunk ${seq} while it was being read`);
        read += data.length;
        yield data;
      }
    })(),
  );
}
