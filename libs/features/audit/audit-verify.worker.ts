/**
 * A verify worker thread: its own PostgreSQL connection, on the snapshot the API's verification
 * exported, walking the segments it is sent and answering with their summaries. Decoding and
 * hashing, nearly all of a verification's CPU, happen here, off the API's event loop.
 *
 * The one place in audit/ that runs SQL outside AuditRepository: a worker thread has no Nest
 * container (nor a DataSource to share), so it opens its own pg Client, with the settings
 * AuditRepository.workerConnection() derives, and runs the same SEGMENT_SQL the repository runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Client } from 'pg';
import { ChainHasher } from './audit-chain';
import { EventTextRow, SEGMENT_SQL, walkSegment } from './audit-chain-walk';
import type { FromVerifyWorker, ToVerifyWorker, VerifyWorkerData } from './audit-verify-workers';

async function main(): Promise<void> {
  const port = parentPort!;
  const { connection, snapshot, batch, chainKey, keyedFrom } = workerData as VerifyWorkerData;
  // The chain key arrives in workerData (a copy in this thread's memory, never in a message or a log).
  const hasher = new ChainHasher(chainKey, keyedFrom);
  const send = (message: FromVerifyWorker) => port.postMessage(message);
  const client = new Client(connection);
  // Without a listener, a connection error would kill the thread without a word.
  client.on('error', (error) => send({ type: 'failed', message: error.message }));
  await client.connect();
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  // A utility statement: no parameters. The id comes from pg_export_snapshot(); checked anyway.
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(snapshot)) throw new Error(`not a snapshot id: ${snapshot}`);
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
  const query = async (from: string, to: string) => (await client.query<EventTextRow>(SEGMENT_SQL, [from, to])).rows;

  // One segment at a time, in arrival order; the parent keeps two queued so this thread never waits.
  let work = Promise.resolve();
  port.on('message', (message: ToVerifyWorker) => {
    work = work
      .then(async () => {
        if (message.type === 'close') {
          await client.end();
          port.close();
          return;
        }
        const summary = await walkSegment(
          query,
          BigInt(message.from),
          BigInt(message.to),
          { batch, sliceMs: Infinity },
          hasher,
        );
        send({ type: 'segment', id: message.id, summary });
      })
      .catch((error: unknown) => send({ type: 'failed', message: (error as Error).message }));
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => parentPort!.postMessage({ type: 'failed', message: (error as Error).message }));
