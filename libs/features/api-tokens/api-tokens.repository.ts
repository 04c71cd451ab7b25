import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity } from './api-token.entity';

/** All SQL on `api_tokens`. Tokens are found by their hash only; the plaintext never reaches a query. */
@Injectable()
export class ApiTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  /** The live (unrevoked) token with this hash, if any. */
  findLiveByHash(tokenHash: string, tx?: Tx): Promise<ApiTokenEntity | null> {
    return this.tx(tx)
      .getRepository(ApiTokenEntity)
      .findOne({ where: { tokenHash, revokedAt: IsNull() } });
  }

  /** Locked FOR UPDATE until `tx` ends. */
  lockByName(tx: Tx, name: string): Promise<ApiTokenEntity | null> {
    return tx.getRepository(ApiTokenEntity).findOne({ where: { name }, lock: { mode: 'pessimistic_write' } });
  }

  /** Locked FOR UPDATE until `tx` ends. */
  lockById(tx: Tx, id: string): Promise<ApiTokenEntity | null> {
    return tx.getRepository(ApiTokenEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async insert(tx: Tx, row: ApiTokenEntity): Promise<void> {
    await tx.getRepository(ApiTokenEntity).insert(row);
  }

  async save(tx: Tx, row: ApiTokenEntity): Promise<void> {
    await tx.getRepository(ApiTokenEntity).save(row);
  }

  listAll(tx?: Tx): Promise<ApiTokenEntity[]> {
    return this.tx(tx)
      .getRepository(ApiTokenEntity)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }
}
