import { Injectable } from '@nestjs/common';
import { JobName, JobQueue } from '@keyshift/queue';

/** Queues the worker job that puts a client's registration back after a rollback or a failed cutover. */
@Injectable()
export class ServerReverts {
  constructor(private readonly queue: JobQueue) {}

  enqueue(clientRowId: string, version: number): Promise<void> {
    return this.queue.enqueue({ name: JobName.ServerRevert, data: { clientRowId, version } });
  }
}
