import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { NEEDS_A_PERSON_STATES, Phase, PhaseState } from '@keyshift/domain';
import { DataSource } from 'typeorm';
import type { RegistrationUriServer } from '../authorization-servers/registration-client-uri';
import { ClientEntity } from './client.entity';
import { ClientFilter, clientFilterConditions } from './client-filter';
import { CLIENT_VIEW_COLUMNS, ClientViewRow } from './client-view';

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * The domain's client predicates (libs/domain client-predicates.ts) as SQL over a `clients` alias,
 * built from the same constants. Use these, never a hand-typed copy of the rule.
 */
export const clientSql = {
  needsAPerson: (c = 'c') =>
    `(${c}.phase <> '${Phase.Completed}' AND ${c}.state IN (${quoted(NEEDS_A_PERSON_STATES)}))`,
  senderConstrained: (c = 'c') =>
    `(${c}.target_sender_constraint <> 'none' AND (${c}.phase = '${Phase.Completed}' OR ` +
    `(${c}.phase = '${Phase.SenderConstraint}' AND ${c}.state = '${PhaseState.Done}')))`,
} as const;

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

  /**
   * The authorization server a new client is created under, locked FOR SHARE until `tx` ends (so
   * it cannot change or go away meanwhile), with what the registration URI check needs.
   */
  async lockServerForNewClient(tx: Tx, serverId: string): Promise<RegistrationUriServer | undefined> {
    const [server] = (await tx.query(
      'SELECT issuer, trusted_hosts AS "trustedHosts", capabilities FROM authorization_servers WHERE id = $1 FOR SHARE',
      [serverId],
    )) as RegistrationUriServer[];
    return server;
  }

  async insert(tx: Tx, row: ClientEntity): Promise<void> {
    await tx.getRepository(ClientEntity).insert(row);
  }

  /** One client as the API shows it (CLIENT_VIEW_COLUMNS). */
  async findView(id: string, tx?: Tx): Promise<ClientViewRow | undefined> {
    const [row] = (await this.tx(tx).query(`SELECT ${CLIENT_VIEW_COLUMNS} FROM clients WHERE id = $1`, [
      id,
    ])) as ClientViewRow[];
    return row;
  }

  /**
   * Clients matching the filter as the API shows them, in id (creation) order after `afterId`, at
   * most `take`: keyset pagination, each filter served by an index (see ClientEntity).
   */
  async listViews(filter: ClientFilter, afterId: string | undefined, take: number, tx?: Tx): Promise<ClientViewRow[]> {
    const params: unknown[] = [];
    const where = clientFilterConditions(filter, params, 'clients');
    if (afterId) where.push(`clients.id > $${params.push(afterId)}`);
    params.push(take);
    return (await this.tx(tx).query(
      `SELECT ${CLIENT_VIEW_COLUMNS} FROM clients ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY id LIMIT $${params.length}`,
      params,
    )) as ClientViewRow[];
  }

  // ── section: keys and probes ─────────────────────────────────────────────────────────────────

  // ── section: registrations at the server (connectors, registrar, migration executors) ────────

  // ── section: reports and audit read models ───────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
