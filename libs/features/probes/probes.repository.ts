import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource } from 'typeorm';

/**
 * All SQL on `probes`: the evidence rows each token request leaves. Takes the caller's transaction
 * where a probe row is written with other changes.
 */
@Injectable()
export class ProbesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: probe runs, sweeps and the probe API ────────────────────────────────────────────

  // ── section: evidence the migration executors read ───────────────────────────────────────────

  // ── section: reports and evidence packs ──────────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
