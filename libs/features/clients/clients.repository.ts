import { Injectable } from '@nestjs/common';
import { newJwksId } from '@keyshift/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { bulkInsert, bulkUpdate, Tx, write } from '@keyshift/database';
import { NEEDS_A_PERSON_STATES, Phase, PhaseState, type RotationPolicy } from '@keyshift/domain';
import { DataSource } from 'typeorm';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import type { RegistrationUriServer } from '../authorization-servers/registration-client-uri';
import { ClientEntity, PendingServerChange, RegistrationState, SecretStatus } from './client.entity';
import { ClientFilter, clientFilterConditions } from '../ports/client-filter';
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

  /** Import: new client rows, in one set-based INSERT. */
  async insertMany(tx: Tx, rows: ClientEntity[]): Promise<void> {
    await bulkInsert(tx, ClientEntity, rows);
  }

  /** Import: changed client rows, the given columns only, in one set-based UPDATE. */
  async updateMany(tx: Tx, rows: ClientEntity[], columns: (keyof ClientEntity & string)[]): Promise<void> {
    await bulkUpdate(tx, ClientEntity, rows, columns);
  }

  /**
   * The existing clients with these (server, client_id) pairs, locked FOR UPDATE in id order, so
   * concurrent imports cannot deadlock.
   */
  lockByServerAndClientId(tx: Tx, keys: { serverId: string; clientId: string }[]): Promise<ClientEntity[]> {
    return tx
      .getRepository(ClientEntity)
      .createQueryBuilder('c')
      .where(
        '(c.authorization_server_id, c.client_id) IN (SELECT * FROM unnest(:servers::uuid[], :clientIds::text[]))',
        { servers: keys.map((k) => k.serverId), clientIds: keys.map((k) => k.clientId) },
      )
      .orderBy('c.id')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** What the registration URI check needs of each of these servers (import validates rows against them). */
  async registrationUriServers(ids: readonly string[], tx?: Tx): Promise<(RegistrationUriServer & { id: string })[]> {
    return (await this.tx(tx).query(
      'SELECT id, issuer, trusted_hosts AS "trustedHosts", capabilities FROM authorization_servers WHERE id = ANY($1::uuid[])',
      [ids],
    )) as (RegistrationUriServer & { id: string })[];
  }

  /**
   * Reconcile's sweep: clients whose lease expired (running, past lease_until), locked FOR UPDATE
   * SKIP LOCKED so replicas' sweeps take disjoint sets.
   */
  lockExpiredLeases(tx: Tx, now: Date, limit: number): Promise<ClientEntity[]> {
    return this.lockForSweep(tx, 'c.state = :running AND c.lease_until < :now', 'c.lease_until', now, limit);
  }

  /** Reconcile's sweep: clients due a check, not paused, with no server revert pending, not in a paused campaign. */
  lockDue(tx: Tx, now: Date, limit: number): Promise<ClientEntity[]> {
    return this.lockForSweep(
      tx,
      `c.next_check_at <= :now AND c.paused = false AND c.server_revert_to IS NULL
       AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = c.campaign_id AND k.status = 'paused')`,
      'c.next_check_at',
      now,
      limit,
    );
  }

  private lockForSweep(tx: Tx, where: string, orderBy: string, now: Date, limit: number): Promise<ClientEntity[]> {
    return tx
      .getRepository(ClientEntity)
      .createQueryBuilder('c')
      .where(where, { now, running: PhaseState.Running })
      .orderBy(orderBy)
      .limit(limit)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
  }

  /** The sweep's transitions, written at once (the transition columns only). */
  async writeTransitions(tx: Tx, rows: ClientEntity[], columns: (keyof ClientEntity & string)[]): Promise<void> {
    await bulkUpdate(tx, ClientEntity, rows, columns);
  }

  /** Clients whose server must be put back (a rollback or a failed cutover), in id order. */
  pendingServerReverts(tx: Tx, limit: number): Promise<{ id: string; version: number }[]> {
    return tx.query(`SELECT id, version FROM clients WHERE server_revert_to IS NOT NULL ORDER BY id LIMIT $1`, [
      limit,
    ]) as Promise<{ id: string; version: number }[]>;
  }

  /** Writes a transition's columns if the row is still at `version`; false if it moved meanwhile. */
  async writeTransitionAtVersion(
    tx: Tx,
    id: string,
    version: number,
    columns: Partial<ClientEntity>,
  ): Promise<boolean> {
    const result = await tx
      .getRepository(ClientEntity)
      .createQueryBuilder()
      .update()
      .set(columns)
      .where('id = :id AND version = :version', { id, version })
      .execute();
    return result.affected === 1;
  }

  /**
   * Crypto-shredding: the secret's ciphertext (and with it the wrapped data key) and fingerprint
   * destroyed, with the revocation probe that made it safe.
   */
  async shredSecret(tx: Tx, clientRowId: string, probeId: string | null, at: Date): Promise<void> {
    await tx.query(
      `UPDATE clients SET secret_ciphertext = NULL, secret_fingerprint = NULL, secret_status = 'shredded',
         secret_revoked_at = $2, secret_revocation_probe_id = $3
       WHERE id = $1`,
      [clientRowId, at, probeId],
    );
  }

  /** The whole row, locked FOR UPDATE until `tx` ends. */
  lockForUpdate(tx: Tx, id: string): Promise<ClientEntity | null> {
    return tx.getRepository(ClientEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async update(tx: Tx, id: string, change: Partial<ClientEntity>): Promise<void> {
    await tx.getRepository(ClientEntity).update({ id }, change);
  }

  async setPendingServerChange(tx: Tx, clientRowId: string, change: PendingServerChange): Promise<void> {
    await tx.query(`UPDATE clients SET pending_server_change = $2 WHERE id = $1`, [clientRowId, change]);
  }

  /** Sealed values of many clients at once, from one of the sealed columns (ClientSecrets batches them). */
  async sealedValues(column: SealedColumn, ids: readonly string[], tx?: Tx): Promise<Map<string, Buffer>> {
    const rows = (await this.tx(tx).query(`SELECT id, ${column} AS sealed FROM clients WHERE id = ANY($1::uuid[])`, [
      ids,
    ])) as { id: string; sealed: Buffer | null }[];
    return new Map(rows.filter((r) => r.sealed).map((r) => [r.id, r.sealed!]));
  }

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

  /**
   * A page of clients that still hold their secret, matching the one client filter, after `after`
   * in id order (an API probe sweep: each is probed with its current secret method).
   */
  async secretHoldersPage(
    filter: ClientFilter,
    after: string,
    limit: number,
    tx?: Tx,
  ): Promise<Pick<ClientEntity, 'id' | 'authorizationServerId' | 'authMethod'>[]> {
    const params: unknown[] = [after, SecretStatus.Present];
    const where = ['c.id > $1', 'c.secret_status = $2', ...clientFilterConditions(filter, params)];
    params.push(limit);
    const rows = (await this.tx(tx).query(
      `SELECT c.id, c.authorization_server_id, c.auth_method FROM clients c
       WHERE ${where.join(' AND ')} ORDER BY c.id LIMIT $${params.length}`,
      params,
    )) as { id: string; authorization_server_id: string; auth_method: string }[];
    return rows.map((r) => ({ id: r.id, authorizationServerId: r.authorization_server_id, authMethod: r.auth_method }));
  }

  /** Who a probe speaks as, for many clients at once (the probe runner batches concurrent reads). */
  async probedClients(ids: readonly string[], tx?: Tx): Promise<ProbedClientRow[]> {
    const rows = (await this.tx(tx).query(
      'SELECT id, client_id, successor_client_id, authorization_server_id FROM clients WHERE id = ANY($1::uuid[])',
      [ids],
    )) as { id: string; client_id: string; successor_client_id: string | null; authorization_server_id: string }[];
    return rows.map((r) => ({
      id: r.id,
      clientId: r.client_id,
      successorClientId: r.successor_client_id,
      authorizationServerId: r.authorization_server_id,
    }));
  }

  /** The client's jwksId, given one with its first key; the same id for the client's lifetime. */
  async ensureJwksId(tx: Tx, clientRowId: string): Promise<string> {
    const { rows } = await write<{ jwks_id: string }>(
      this.tx(tx),
      'UPDATE clients SET jwks_id = coalesce(jwks_id, $2) WHERE id = $1 RETURNING jwks_id',
      [clientRowId, newJwksId()],
    );
    return rows[0].jwks_id;
  }

  async jwksIdOf(clientRowId: string, tx?: Tx): Promise<string | null> {
    const [row] = (await this.tx(tx).query('SELECT jwks_id FROM clients WHERE id = $1', [clientRowId])) as {
      jwks_id: string | null;
    }[];
    return row?.jwks_id ?? null;
  }

  /** What key management reads of a client; null when there is no such client. */
  clientForKeys(
    clientRowId: string,
    tx?: Tx,
  ): Promise<Pick<ClientEntity, 'id' | 'jwksId' | 'authorizationServerId' | 'rotationPolicy'> | null> {
    return this.tx(tx)
      .getRepository(ClientEntity)
      .findOne({
        where: { id: clientRowId },
        select: { id: true, jwksId: true, authorizationServerId: true, rotationPolicy: true },
      });
  }

  /** The authorization server a rotation's overlap and policy are computed from. */
  serverForKeys(serverId: string, tx?: Tx): Promise<AuthorizationServerEntity> {
    return this.tx(tx).getRepository(AuthorizationServerEntity).findOneByOrFail({ id: serverId });
  }

  /** A client's or a server's rotation policy; undefined when there is no such row. */
  async rotationPolicyOf(
    subject: 'client' | 'authorization_server',
    id: string,
    tx?: Tx,
  ): Promise<{ rotationPolicy: RotationPolicy | null } | undefined> {
    const row = await this.tx(tx)
      .getRepository<{ id: string; rotationPolicy: RotationPolicy | null }>(this.policyEntity(subject))
      .findOne({ where: { id }, select: { id: true, rotationPolicy: true } });
    return row ?? undefined;
  }

  async setRotationPolicy(
    tx: Tx,
    subject: 'client' | 'authorization_server',
    id: string,
    policy: RotationPolicy,
  ): Promise<void> {
    await this.tx(tx)
      .getRepository<{ id: string; rotationPolicy: RotationPolicy | null }>(this.policyEntity(subject))
      .update(id, { rotationPolicy: policy });
  }

  private policyEntity(subject: 'client' | 'authorization_server') {
    return subject === 'client' ? ClientEntity : AuthorizationServerEntity;
  }

  // ── section: registrations at the server (connectors, registrar, migration executors) ────────

  findById(id: string, tx?: Tx): Promise<ClientEntity | null> {
    return this.tx(tx).getRepository(ClientEntity).findOneBy({ id });
  }

  /** Clears a server revert once done, if it is still the one asked for; false if it changed meanwhile. */
  async clearServerRevert(tx: Tx, clientRowId: string, to: string): Promise<boolean> {
    const { affected } = await tx
      .getRepository(ClientEntity)
      .createQueryBuilder()
      .update()
      .set({ serverRevertTo: null, version: () => 'version + 1', updatedAt: new Date() })
      .where('id = :id AND server_revert_to = :to', { id: clientRowId, to })
      .execute();
    return affected === 1;
  }

  /** Where each of the client's registrations is managed, and whether Keyshift holds its token. */
  async registrationsOf(clientRowId: string, tx?: Tx): Promise<ClientRegistrations | null> {
    const [row] = (await this.tx(tx).query(
      `SELECT client_id, registration_client_uri,
              registration_access_token_ciphertext IS NOT NULL AS original_has_token,
              successor_client_id, successor_registration_client_uri,
              successor_registration_access_token_ciphertext IS NOT NULL AS successor_has_token
       FROM clients WHERE id = $1`,
      [clientRowId],
    )) as {
      client_id: string;
      registration_client_uri: string | null;
      original_has_token: boolean;
      successor_client_id: string | null;
      successor_registration_client_uri: string | null;
      successor_has_token: boolean;
    }[];
    if (!row) return null;
    return {
      original: { clientId: row.client_id, uri: row.registration_client_uri, hasToken: row.original_has_token },
      successor: row.successor_client_id
        ? {
            clientId: row.successor_client_id,
            uri: row.successor_registration_client_uri,
            hasToken: row.successor_has_token,
          }
        : null,
    };
  }

  async registrationStateOf(clientRowId: string, tx?: Tx): Promise<RegistrationState | null> {
    const [row] = (await this.tx(tx).query('SELECT registration_state FROM clients WHERE id = $1', [clientRowId])) as {
      registration_state: RegistrationState;
    }[];
    return row?.registration_state ?? null;
  }

  /** Records what the server now holds for the client (the change's audit event is in `tx`). */
  async setRegistrationState(tx: Tx, clientRowId: string, state: RegistrationState): Promise<void> {
    await tx.query('UPDATE clients SET registration_state = $2 WHERE id = $1', [clientRowId, state]);
  }

  /** A rotated registration access token, sealed by the caller; the original's fingerprint with it. */
  async storeRegistrationToken(
    tx: Tx,
    clientRowId: string,
    which: 'original' | 'successor',
    sealed: Buffer,
    fingerprint: string,
  ): Promise<void> {
    await tx.query(
      which === 'original'
        ? `UPDATE clients SET registration_access_token_ciphertext = $2, registration_access_token_fingerprint = $3,
             updated_at = now() WHERE id = $1`
        : `UPDATE clients SET successor_registration_access_token_ciphertext = $2, updated_at = now() WHERE id = $1`,
      which === 'original' ? [clientRowId, sealed, fingerprint] : [clientRowId, sealed],
    );
  }

  /** A new successor registration: its client_id, where it is managed, its sealed token (if any). */
  async storeSuccessor(
    tx: Tx,
    clientRowId: string,
    successor: { clientId: string; uri: string | null; sealedToken: Buffer | null },
  ): Promise<void> {
    await tx.query(
      `UPDATE clients SET successor_client_id = $2, successor_registration_client_uri = $3,
         successor_registration_access_token_ciphertext = $4, updated_at = now() WHERE id = $1`,
      [clientRowId, successor.clientId, successor.uri, successor.sealedToken],
    );
  }

  /** A deleted registration: its token died with it; a successor Keyshift registered is forgotten whole. */
  async forgetRegistration(tx: Tx, clientRowId: string, which: 'original' | 'successor'): Promise<void> {
    await tx.query(
      which === 'original'
        ? `UPDATE clients SET registration_access_token_ciphertext = NULL, registration_access_token_fingerprint = NULL,
             updated_at = now() WHERE id = $1`
        : `UPDATE clients SET successor_client_id = NULL, successor_registration_client_uri = NULL,
             successor_registration_access_token_ciphertext = NULL, updated_at = now() WHERE id = $1`,
      [clientRowId],
    );
  }

  /** An operator's confirmed change recorded as the server's state; the request it answered cleared. */
  async recordOperatorChange(tx: Tx, clientRowId: string, state: RegistrationState): Promise<void> {
    await tx.query('UPDATE clients SET registration_state = $2, pending_server_change = NULL WHERE id = $1', [
      clientRowId,
      state,
    ]);
  }

  // ── section: reports and audit read models ───────────────────────────────────────────────────

  /** The estate by phase and state (the metrics gauge, at scrape time: one indexed GROUP BY). */
  countsByPhaseAndState(tx?: Tx): Promise<{ phase: string; state: string; n: number }[]> {
    return this.tx(tx).query('SELECT phase, state, count(*)::int AS n FROM clients GROUP BY phase, state') as Promise<
      { phase: string; state: string; n: number }[]
    >;
  }

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}

/** A client's registrations at its server, as Keyshift holds them (tokens only as "held or not"). */
export interface ClientRegistrations {
  original: HeldRegistration;
  /** The successor strategy's new registration, once made. */
  successor: HeldRegistration | null;
}

export interface HeldRegistration {
  clientId: string;
  /** RFC 7592's registration_client_uri; null where the server is not managed by RFC 7592. */
  uri: string | null;
  hasToken: boolean;
}

/** A client as a probe needs it: which client_id(s) to speak as, at which server. */
export interface ProbedClientRow {
  id: string;
  clientId: string;
  successorClientId: string | null;
  authorizationServerId: string;
}

/** The columns that hold a client's sealed values. */
export type SealedColumn =
  'secret_ciphertext' | 'registration_access_token_ciphertext' | 'successor_registration_access_token_ciphertext';
