import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { DataSource } from 'typeorm';

/**
 * All SQL on `clients`, the aggregate that the phase machine, the connectors, the keys and the
 * reports share. Every method takes the caller's transaction (`tx`) where it writes as part of a
 * larger change; without one it runs on its own. Domain predicates ("needs a person",
 * "sender-constrained", …) are written once here, next to their SQL fragment.
 *
 * Raw, parameterised SQL with typed row interfaces rather than TypeORM's query builder: the set-based
 * statements (unnest, FOR UPDATE SKIP LOCKED, version-checked updates) read as the SQL they are.
 */
@Injectable()
export class ClientsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: domain predicates as SQL fragments ──────────────────────────────────────────────

  // ── section: inventory, import, list, transitions, campaigns, reconcile (clients feature) ────

  // ── section: keys and probes ─────────────────────────────────────────────────────────────────

  // ── section: registrations at the server (connectors, registrar, migration executors) ────────

  // ── section: reports and audit read models ───────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
