import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import type { CutoverProbeRecord } from '@keyshift/domain';
import { DataSource } from 'typeorm';
import { ProbeEntity } from './probe.entity';

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

  /** A probe row the executors write themselves (the published-key check's verification). */
  async insert(probe: ProbeEntity, tx?: Tx): Promise<void> {
    await this.tx(tx).getRepository(ProbeEntity).insert(probe);
  }

  /** Successful token requests in a phase since the client entered it, by credential. */
  async okCountsSince(
    clientRowId: string,
    purpose: string,
    since: Date,
    tx?: Tx,
  ): Promise<{ secret: number; key: number }> {
    const [row] = (await this.tx(tx).query(
      `SELECT count(*) FILTER (WHERE method <> 'private_key_jwt')::int AS secret,
              count(*) FILTER (WHERE method = 'private_key_jwt')::int AS key
       FROM probes
       WHERE client_row_id = $1 AND purpose = $2 AND outcome = 'ok' AND created_at >= $3`,
      [clientRowId, purpose, since],
    )) as { secret: number; key: number }[];
    return row;
  }

  /** The client's last probe at cutover (what the secret-revocation gate reads), or null. */
  async lastCutoverProbe(clientRowId: string, tx?: Tx): Promise<CutoverProbeRecord | null> {
    const [row] = (await this.tx(tx).query(
      `SELECT outcome, via FROM probes WHERE client_row_id = $1 AND purpose = 'cutover'
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [clientRowId],
    )) as CutoverProbeRecord[];
    return row ?? null;
  }

  // ── section: reports and evidence packs ──────────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
