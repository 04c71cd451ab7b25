import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource, In, MoreThan } from 'typeorm';
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

  // ── section: the servers API and discovery ───────────────────────────────────────────────────

  async insert(tx: Tx, row: AuthorizationServerEntity): Promise<void> {
    await tx.getRepository(AuthorizationServerEntity).insert(row);
  }

  findById(id: string, tx?: Tx): Promise<AuthorizationServerEntity | null> {
    return this.tx(tx).getRepository(AuthorizationServerEntity).findOneBy({ id });
  }

  /** The row locked FOR UPDATE until `tx` ends (a change judged against what it replaces). */
  lockForUpdate(tx: Tx, id: string): Promise<AuthorizationServerEntity | null> {
    return tx.getRepository(AuthorizationServerEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async update(tx: Tx, id: string, change: Partial<AuthorizationServerEntity>): Promise<void> {
    await tx.getRepository(AuthorizationServerEntity).update({ id }, change);
  }

  /** Applies `change` and counts the new version (discovery, which has no version of its own to compare). */
  async updateBumpingVersion(tx: Tx, id: string, change: Partial<AuthorizationServerEntity>): Promise<void> {
    await tx
      .getRepository(AuthorizationServerEntity)
      .createQueryBuilder()
      .update()
      .set({ ...change, version: () => 'version + 1' })
      .where('id = :id', { id })
      .execute();
  }

  /** A page of servers in id order after a cursor id. */
  listAfter(after: string | undefined, take: number, tx?: Tx): Promise<AuthorizationServerEntity[]> {
    return this.tx(tx)
      .getRepository(AuthorizationServerEntity)
      .find({ where: after ? { id: MoreThan(after) } : {}, order: { id: 'ASC' }, take });
  }

  // ── section: the migration executors and the vendor check ───────────────────────────────────

  /** The server a client belongs to (the foreign key guarantees it exists). */
  get(id: string, tx?: Tx): Promise<AuthorizationServerEntity> {
    return this.tx(tx).getRepository(AuthorizationServerEntity).findOneByOrFail({ id });
  }

  // ── section: connectors (admin APIs) ─────────────────────────────────────────────────────────

  /** The sealed secret part of the server's admin credential (never selected with the row). */
  async sealedAdminCredential(id: string, tx?: Tx): Promise<Buffer | null> {
    const row = await this.tx(tx)
      .getRepository(AuthorizationServerEntity)
      .findOne({ where: { id }, select: { id: true, adminCredentialCiphertext: true } });
    return row?.adminCredentialCiphertext ?? null;
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
