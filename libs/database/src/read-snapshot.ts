import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';

export interface ReadSnapshot {
  runner: QueryRunner;
  /** The snapshot's own pg connection, for a server-side cursor (pg-query-stream). */
  client: PoolClient;
  /** Ends the transaction and gives the connection back; safe to call on any path. */
  close(): Promise<void>;
}

/**
 * One REPEATABLE READ READ ONLY transaction on a connection of its own: every query a report makes
 * sees the same moment, so its summary, rows and chain head agree even while the estate keeps moving.
 */
export async function openReadSnapshot(dataSource: DataSource): Promise<ReadSnapshot> {
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  const close = async () => {
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.release();
  };
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (error) {
    await close();
    throw error;
  }
  return { runner, client, close };
}

/** Runs `fn` inside a read snapshot (see openReadSnapshot). */
export async function inReadSnapshot<T>(dataSource: DataSource, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const snapshot = await openReadSnapshot(dataSource);
  try {
    return await fn(snapshot.runner);
  } finally {
    await snapshot.close();
  }
}

/**
 * Read snapshots for services, as Transactions opens read-write transactions: the reports depend on
 * this and on their read-model repositories, never on DataSource.
 */
@Injectable()
export class ReadSnapshots {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  open(): Promise<ReadSnapshot> {
    return openReadSnapshot(this.dataSource);
  }

  run<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    return inReadSnapshot(this.dataSource, fn);
  }
}
