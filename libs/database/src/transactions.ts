import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * The caller's transaction, as repositories accept it. It is TypeORM's EntityManager, but services
 * only pass it along: they never query through it (SQL lives in repositories).
 */
export type Tx = EntityManager;

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/**
 * Opens transactions for services: "state change + audit event" is one `run`. Services depend on
 * this and on repositories, never on DataSource.
 */
@Injectable()
export class Transactions {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Tx) => Promise<T>, isolation?: IsolationLevel): Promise<T> {
    return isolation ? this.dataSource.transaction(isolation, work) : this.dataSource.transaction(work);
  }

  /** Outside any transaction: each statement commits on its own (autocommit). */
  get none(): Tx {
    return this.dataSource.manager;
  }
}
