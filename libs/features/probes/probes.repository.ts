import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { bulkInsert, Tx } from '@keyshift/database';
import type { CutoverProbeRecord, Phase } from '@keyshift/domain';
import { DataSource, LessThan } from 'typeorm';
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

  /** Probe rows from concurrent jobs, as one INSERT (the runner's group commit). */
  insertMany(rows: ProbeEntity[]): Promise<void> {
    return bulkInsert(this.dataSource.manager, ProbeEntity, rows);
  }

  /**
   * A page of clients past vendor_check and not paused, after `after` in id order, with when each
   * credential the gates read was last probed (secret, key, key with DPoP).
   */
  sweepPage(after: string, limit: number, tx?: Tx): Promise<SweepRow[]> {
    return this.tx(tx).query(
      `SELECT c.id, c.authorization_server_id, c.auth_method, c.phase, c.target_sender_constraint, c.secret_status,
         (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = c.auth_method AND NOT p.dpop) AS last_secret,
         (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = 'private_key_jwt' AND NOT p.dpop) AS last_key,
         (SELECT max(created_at) FROM probes p WHERE p.client_row_id = c.id AND p.method = 'private_key_jwt' AND p.dpop) AS last_dpop
       FROM clients c
       WHERE c.id > $1 AND c.phase <> 'vendor_check' AND NOT c.paused
       ORDER BY c.id LIMIT $2`,
      [after, limit],
    ) as Promise<SweepRow[]>;
  }

  /** A client's probes, newest first, before a cursor id (keyset paging). */
  pageForClient(clientRowId: string, before: string | undefined, take: number, tx?: Tx): Promise<ProbeEntity[]> {
    return this.tx(tx)
      .getRepository(ProbeEntity)
      .find({
        where: { clientRowId, ...(before ? { id: LessThan(before) } : {}) },
        order: { id: 'DESC' },
        take,
      });
  }

  /** How a sweep's probes came out so far, by outcome. */
  sweepOutcomes(sweepId: string, tx?: Tx): Promise<{ outcome: string; n: number }[]> {
    return this.tx(tx).query('SELECT outcome, count(*)::int AS n FROM probes WHERE sweep_id = $1 GROUP BY outcome', [
      sweepId,
    ]) as Promise<{ outcome: string; n: number }[]>;
  }

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

/** A client as the probe sweep sees it. */
export interface SweepRow {
  id: string;
  authorization_server_id: string;
  auth_method: string;
  phase: Phase;
  target_sender_constraint: 'dpop' | 'none';
  secret_status: string;
  last_secret: Date | null;
  last_key: Date | null;
  last_dpop: Date | null;
}
