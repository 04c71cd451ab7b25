import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { bulkInsert, Tx, write } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { InventoryClientEntity, InventoryRunEntity, InventoryStatus } from './inventory.entity';

/** A listed client and, when Keyshift already manages it, that client's row id. */
export interface InventoriedClient extends InventoryClientEntity {
  managedClientRowId: string | null;
}

/** What a run found, in the numbers an estate review starts from. */
export interface InventorySummary {
  clients: number;
  managed: number;
  /** Clients the server ships for itself (counted in `clients`, never imported). */
  vendorBuiltIn: number;
  byAuthMethod: Record<string, number>;
  /** Clients holding at least one secret, by the age of their oldest (or of the client where the server dates no secret). */
  onSecret: {
    total: number;
    byAge: { under90Days: number; days90To365: number; over365Days: number; unknown: number };
  };
  secretsExpiring: { expired: number; within30Days: number };
}

/** All SQL on `inventory_runs` and `inventory_clients`. */
@Injectable()
export class InventoryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertRun(tx: Tx, run: InventoryRunEntity): Promise<void> {
    await tx.getRepository(InventoryRunEntity).insert(run);
  }

  findRun(serverId: string, runId: string): Promise<InventoryRunEntity | null> {
    return this.dataSource.getRepository(InventoryRunEntity).findOneBy({ id: runId, serverId });
  }

  /** Takes a queued or interrupted run for this attempt; null when it is finished (a duplicate job). */
  async claim(runId: string): Promise<InventoryRunEntity | null> {
    const { count } = await write(
      this.dataSource.manager,
      `UPDATE inventory_runs SET status = 'running', attempts = attempts + 1, progress_at = now()
        WHERE id = $1 AND status IN ('queued', 'running')`,
      [runId],
    );
    if (count === 0) return null;
    return this.dataSource.getRepository(InventoryRunEntity).findOneByOrFail({ id: runId });
  }

  /**
   * One listed page, stored with the cursor that follows it in one transaction, and only if the run
   * still stands where this attempt read it from (a duplicate delivery of the job stores nothing).
   */
  async savePage(
    tx: Tx,
    run: Pick<InventoryRunEntity, 'id' | 'pages'>,
    clients: InventoryClientEntity[],
    next: string | null,
    calls: number,
    serverMs: number,
  ): Promise<boolean> {
    const { count } = await write(
      tx,
      `UPDATE inventory_runs SET next_page = $3, pages = pages + 1, admin_calls = admin_calls + $4,
              server_ms = server_ms + $5, progress_at = now()
        WHERE id = $1 AND pages = $2 AND status = 'running'`,
      [run.id, run.pages, next, calls, serverMs],
    );
    if (count === 0) return false;
    // A server's list can move under offset paging: a client seen twice is kept once.
    await bulkInsert(tx, InventoryClientEntity, clients, { skipDuplicates: true });
    return true;
  }

  /**
   * Closes a run. `attempt`: only the attempt that holds the run may close it (a stale duplicate
   * delivery cannot turn `done` into `failed`); null: a run nobody works yet (never queued).
   */
  async finish(
    runId: string,
    status: Extract<InventoryStatus, 'done' | 'failed'>,
    error: string | null,
    at: Date,
    attempt: number | null,
  ): Promise<boolean> {
    const { count } = await write(
      this.dataSource.manager,
      `UPDATE inventory_runs
          SET status = $2, error = $3, finished_at = $4,
              clients_found = (SELECT count(*) FROM inventory_clients WHERE run_id = $1)
        WHERE id = $1 AND (($5::int IS NULL AND status = 'queued') OR (status = 'running' AND attempts = $5))`,
      [runId, status, error, at, attempt],
    );
    return count > 0;
  }

  /** Open runs silent for longer than `seconds`, locked for the tick's transaction (other ticks skip them). */
  lockSilent(
    tx: Tx,
    now: Date,
    seconds: number,
  ): Promise<Pick<InventoryRunEntity, 'id' | 'attempts' | 'generation'>[]> {
    return tx.query(
      `SELECT id, attempts, generation FROM inventory_runs
        WHERE status IN ('queued', 'running') AND progress_at < $1::timestamptz - make_interval(secs => $2)
        ORDER BY progress_at LIMIT 100
        FOR UPDATE SKIP LOCKED`,
      [now, seconds],
    ) as Promise<Pick<InventoryRunEntity, 'id' | 'attempts' | 'generation'>[]>;
  }

  /** Queued again under the next generation (a new job id); its silence starts over. */
  async requeue(tx: Tx, runId: string, generation: number, now: Date): Promise<void> {
    await tx.query(`UPDATE inventory_runs SET generation = $2, progress_at = $3 WHERE id = $1`, [
      runId,
      generation,
      now,
    ]);
  }

  /** Closes silent runs out of attempts, with the reason. */
  async failSilent(tx: Tx, runIds: string[], now: Date): Promise<void> {
    await tx.query(
      `UPDATE inventory_runs
          SET status = 'failed', finished_at = $2,
              error = 'its worker was lost ' || attempts || ' times; request a new inventory',
              clients_found = (SELECT count(*) FROM inventory_clients WHERE run_id = inventory_runs.id)
        WHERE id = ANY($1::uuid[])`,
      [runIds, now],
    );
  }

  /** A page of the run's clients in client_id order, each with the row of the Keyshift client it already is, if any. */
  async clients(
    run: Pick<InventoryRunEntity, 'id' | 'serverId'>,
    after: string | null,
    limit: number,
    only?: readonly string[],
  ): Promise<InventoriedClient[]> {
    const rows = (await this.dataSource.query(
      `SELECT ic.*, c.id AS managed_client_row_id
         FROM inventory_clients ic
         LEFT JOIN clients c ON c.authorization_server_id = $2 AND c.client_id = ic.client_id
        WHERE ic.run_id = $1 AND ($3::text IS NULL OR ic.client_id > $3)
          AND ($5::text[] IS NULL OR ic.client_id = ANY($5))
        ORDER BY ic.client_id
        LIMIT $4`,
      [run.id, run.serverId, after, limit, only ?? null],
    )) as Record<string, unknown>[];
    return rows.map((r) => ({
      runId: r.run_id as string,
      clientId: r.client_id as string,
      name: r.name as string | null,
      authMethod: r.auth_method as string | null,
      secretCount: r.secret_count as number | null,
      secretIssuedAt: r.secret_issued_at as Date | null,
      secretExpiresAt: r.secret_expires_at as Date | null,
      clientCreatedAt: r.client_created_at as Date | null,
      keyDelivery: r.key_delivery as string | null,
      keyCount: r.key_count as number | null,
      grantTypes: r.grant_types as string[],
      vendorBuiltIn: r.vendor_built_in as boolean,
      managedClientRowId: (r.managed_client_row_id as string | null) ?? null,
    }));
  }

  async summary(run: Pick<InventoryRunEntity, 'id' | 'serverId'>, now: Date): Promise<InventorySummary> {
    const [totals] = (await this.dataSource.query(
      `WITH listed AS (
         SELECT ic.*, coalesce(ic.secret_issued_at, ic.client_created_at) AS secret_since,
                (c.id IS NOT NULL) AS managed
           FROM inventory_clients ic
           LEFT JOIN clients c ON c.authorization_server_id = $2 AND c.client_id = ic.client_id
          WHERE ic.run_id = $1)
       SELECT count(*)::int AS clients,
              count(*) FILTER (WHERE managed)::int AS managed,
              count(*) FILTER (WHERE vendor_built_in)::int AS built_in,
              count(*) FILTER (WHERE secret_count > 0)::int AS on_secret,
              count(*) FILTER (WHERE secret_count > 0 AND secret_since > $3::timestamptz - interval '90 days')::int AS under90,
              count(*) FILTER (WHERE secret_count > 0 AND secret_since <= $3::timestamptz - interval '90 days'
                                 AND secret_since > $3::timestamptz - interval '365 days')::int AS d90to365,
              count(*) FILTER (WHERE secret_count > 0 AND secret_since <= $3::timestamptz - interval '365 days')::int AS over365,
              count(*) FILTER (WHERE secret_count > 0 AND secret_since IS NULL)::int AS unknown,
              count(*) FILTER (WHERE secret_expires_at <= $3)::int AS expired,
              count(*) FILTER (WHERE secret_expires_at > $3 AND secret_expires_at <= $3::timestamptz + interval '30 days')::int AS within30
         FROM listed`,
      [run.id, run.serverId, now],
    )) as Record<string, number>[];
    const methods = (await this.dataSource.query(
      `SELECT coalesce(auth_method, 'unknown') AS method, count(*)::int AS n
         FROM inventory_clients WHERE run_id = $1 GROUP BY 1 ORDER BY 1`,
      [run.id],
    )) as { method: string; n: number }[];
    return {
      clients: totals.clients,
      managed: totals.managed,
      vendorBuiltIn: totals.built_in,
      byAuthMethod: Object.fromEntries(methods.map((m) => [m.method, m.n])),
      onSecret: {
        total: totals.on_secret,
        byAge: {
          under90Days: totals.under90,
          days90To365: totals.d90to365,
          over365Days: totals.over365,
          unknown: totals.unknown,
        },
      },
      secretsExpiring: { expired: totals.expired, within30Days: totals.within30 },
    };
  }
}
