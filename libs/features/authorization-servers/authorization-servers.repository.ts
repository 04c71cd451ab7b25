import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource, In } from 'typeorm';
import { AuthorizationServerEntity } from './authorization-server.entity';

/**
 * All SQL on `authorization_servers`. Takes the caller's transaction where a server is read or
 * written with other changes.
 */
@Injectable()
export class AuthorizationServersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: the migration executors and the vendor check ───────────────────────────────────

  /** The server a client belongs to (the foreign key guarantees it exists). */
  get(id: string, tx?: Tx): Promise<AuthorizationServerEntity> {
    return this.tx(tx).getRepository(AuthorizationServerEntity).findOneByOrFail({ id });
  }

  // ── section: probes ──────────────────────────────────────────────────────────────────────────

  /** Servers' probe limits (every server's, or these): the worker pool runs a queue per server with them. */
  probeLimits(
    ids?: readonly string[],
    tx?: Tx,
  ): Promise<Pick<AuthorizationServerEntity, 'id' | 'probeRatePerSecond' | 'probeConcurrency'>[]> {
    return this.tx(tx)
      .getRepository(AuthorizationServerEntity)
      .find({
        select: { id: true, probeRatePerSecond: true, probeConcurrency: true },
        ...(ids ? { where: { id: In([...ids]) } } : {}),
      });
  }

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
