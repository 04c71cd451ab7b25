import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource } from 'typeorm';

/**
 * All SQL on a client's keys and their rotations (`client_keys`, `key_rotations`,
 * `key_possession_challenges`). Key rows are created here and nowhere else.
 */
@Injectable()
export class KeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: keys, rotations, JWKS documents ─────────────────────────────────────────────────

  // ── section: what the migration executors read ───────────────────────────────────────────────

  // ── section: reports and evidence packs ──────────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
