import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx, write } from '@keyshift/database';
import { DataSource, Not } from 'typeorm';
import { ClientKeyEntity, KeyState } from './client-key.entity';
import { KeyRotationEntity, RotationStatus } from './key-rotation.entity';
import { ROTATION_PERIOD_DAYS_SQL, RotationPolicy } from './rotation-policy';

/** A key row as its creator gives it: the lifecycle timestamps after `activatedAt` start empty. */
export type NewClientKey = Omit<ClientKeyEntity, 'client' | 'activatedAt' | 'retiringAt' | 'retiredAt'> & {
  /** Set only for a key created straight into `active` (a client's first key). */
  activatedAt?: Date | null;
};

/** A published key's public JWK per JWKS document, as the JWKS cache loads them. */
export interface JwksKeysRow {
  jwks_id: string;
  keys: Record<string, string>[];
}

export interface ScheduledRotationCandidate {
  id: string;
  activated_at: Date;
  client_policy: RotationPolicy | null;
  server_policy: RotationPolicy | null;
}

export interface ManagedSigningKeyRow {
  id: string;
  kid: string;
  alg: string;
  private_key_ciphertext: Buffer;
}

/** The states whose keys a JWKS publishes (PUBLISHED_KEY_STATES), as an SQL list. */
const PUBLISHED = `('pending', 'active', 'retiring')`;

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

  /**
   * The one place a client key row is created (first keys, rotations, bring-your-own keys). A
   * duplicate kid, or a second active key of a client, is a unique violation the caller handles.
   */
  async insertKey(tx: Tx, key: NewClientKey): Promise<ClientKeyEntity> {
    const row: ClientKeyEntity = {
      ...key,
      activatedAt: key.activatedAt ?? null,
      retiringAt: null,
      retiredAt: null,
    };
    if ((row.state === KeyState.Active) !== (row.activatedAt !== null))
      throw new Error(`a key created ${row.state} has activatedAt if and only if it is active`);
    await this.tx(tx).getRepository(ClientKeyEntity).insert(row);
    return row;
  }

  activeKey(clientRowId: string, tx?: Tx): Promise<ClientKeyEntity | null> {
    return this.tx(tx).getRepository(ClientKeyEntity).findOneBy({ clientRowId, state: KeyState.Active });
  }

  /** The client's active key with the id of the JWKS that publishes it. */
  async activeKeyWithJwksId(
    clientRowId: string,
    tx?: Tx,
  ): Promise<{ id: string; kid: string; alg: string; jwks_id: string } | null> {
    const [row] = (await this.tx(tx).query(
      `SELECT k.id, k.kid, k.alg, c.jwks_id FROM client_keys k JOIN clients c ON c.id = k.client_row_id
       WHERE k.client_row_id = $1 AND k.state = 'active'`,
      [clientRowId],
    )) as { id: string; kid: string; alg: string; jwks_id: string }[];
    return row ?? null;
  }

  keyById(keyId: string, tx?: Tx): Promise<ClientKeyEntity> {
    return this.tx(tx).getRepository(ClientKeyEntity).findOneByOrFail({ id: keyId });
  }

  keyOfClient(clientRowId: string, keyId: string, tx?: Tx): Promise<ClientKeyEntity | null> {
    return this.tx(tx).getRepository(ClientKeyEntity).findOneBy({ id: keyId, clientRowId });
  }

  /** A key with its sealed private key (never selected otherwise). */
  keyWithCiphertext(clientRowId: string, keyId: string, tx?: Tx): Promise<ClientKeyEntity | null> {
    return this.tx(tx)
      .getRepository(ClientKeyEntity)
      .findOne({
        where: { id: keyId, clientRowId },
        select: { id: true, kid: true, alg: true, origin: true, state: true, privateKeyCiphertext: true },
      });
  }

  keysOf(clientRowId: string, tx?: Tx): Promise<ClientKeyEntity[]> {
    return this.tx(tx)
      .getRepository(ClientKeyEntity)
      .find({ where: { clientRowId }, order: { createdAt: 'ASC' } });
  }

  /** active -> retiring; the number of rows changed (0 when the key is no longer active). */
  async startRetiring(tx: Tx, keyId: string, at: Date): Promise<number> {
    const { count } = await write(
      this.tx(tx),
      `UPDATE client_keys SET state = 'retiring', retiring_at = $2 WHERE id = $1 AND state = 'active'`,
      [keyId, at],
    );
    return count;
  }

  /** pending -> active; the number of rows changed (0 when the key is no longer pending). */
  async activate(tx: Tx, keyId: string, at: Date): Promise<number> {
    const { count } = await write(
      this.tx(tx),
      `UPDATE client_keys SET state = 'active', activated_at = $2 WHERE id = $1 AND state = 'pending'`,
      [keyId, at],
    );
    return count;
  }

  /** retiring -> retired, destroying the sealed private key; the number of rows changed. */
  async retire(tx: Tx, keyId: string, at: Date): Promise<number> {
    const { count } = await write(
      this.tx(tx),
      `UPDATE client_keys SET state = 'retired', retired_at = $2, private_key_ciphertext = NULL
       WHERE id = $1 AND state = 'retiring'`,
      [keyId, at],
    );
    return count;
  }

  /** Every JWKS document's published keys, oldest first: one statement, read at boot. */
  async allPublishedJwks(tx?: Tx): Promise<JwksKeysRow[]> {
    return (await this.tx(tx).query(
      `SELECT c.jwks_id,
         coalesce(jsonb_agg(k.public_jwk ORDER BY k.created_at) FILTER (WHERE k.id IS NOT NULL), '[]') AS keys
       FROM clients c
       LEFT JOIN client_keys k ON k.client_row_id = c.id AND k.state IN ${PUBLISHED}
       WHERE c.jwks_id IS NOT NULL
       GROUP BY c.jwks_id`,
    )) as JwksKeysRow[];
  }

  /**
   * One JWKS document's published keys, oldest first; null when no client has that jwksId (one
   * row without a key comes back for a client that has none: no row, no client).
   */
  async publishedJwks(jwksId: string, tx?: Tx): Promise<Record<string, string>[] | null> {
    const rows = (await this.tx(tx).query(
      `SELECT k.public_jwk FROM clients c
       LEFT JOIN client_keys k ON k.client_row_id = c.id AND k.state IN ${PUBLISHED}
       WHERE c.jwks_id = $1 ORDER BY k.created_at`,
      [jwksId],
    )) as { public_jwk: Record<string, string> | null }[];
    if (rows.length === 0) return null;
    return rows.flatMap((r) => (r.public_jwk ? [r.public_jwk] : []));
  }

  /** Which of these clients have an active managed key. */
  async withActiveManagedKey(clientRowIds: readonly string[], tx?: Tx): Promise<string[]> {
    const rows = (await this.tx(tx).query(
      `SELECT client_row_id FROM client_keys WHERE client_row_id = ANY($1::uuid[]) AND state = 'active' AND origin = 'managed'`,
      [clientRowIds],
    )) as { client_row_id: string }[];
    return rows.map((r) => r.client_row_id);
  }

  /** A managed key to sign with: the active one, or (by id) a published one. */
  async managedSigningKey(clientRowId: string, keyId?: string, tx?: Tx): Promise<ManagedSigningKeyRow | null> {
    const [row] = (await this.tx(tx).query(
      `SELECT id, kid, alg, private_key_ciphertext FROM client_keys
       WHERE client_row_id = $1 AND origin = 'managed'
         AND ${keyId ? `id = $2 AND state IN ${PUBLISHED}` : "state = 'active'"}`,
      keyId ? [clientRowId, keyId] : [clientRowId],
    )) as ManagedSigningKeyRow[];
    return row ?? null;
  }

  // rotations

  rotationById(rotationId: string, tx?: Tx): Promise<KeyRotationEntity | null> {
    return this.tx(tx).getRepository(KeyRotationEntity).findOneBy({ id: rotationId });
  }

  /** The client's rotation that is not done (at most one: a unique index). */
  openRotation(clientRowId: string, tx?: Tx): Promise<KeyRotationEntity | null> {
    return this.tx(tx)
      .getRepository(KeyRotationEntity)
      .findOneBy({ clientRowId, status: Not(RotationStatus.Done) });
  }

  latestRotation(clientRowId: string, tx?: Tx): Promise<KeyRotationEntity | null> {
    return this.tx(tx)
      .getRepository(KeyRotationEntity)
      .findOne({ where: { clientRowId }, order: { id: 'DESC' } });
  }

  async insertRotation(tx: Tx, row: KeyRotationEntity): Promise<void> {
    await this.tx(tx).getRepository(KeyRotationEntity).insert(row);
  }

  /** Writes `columns` if the row is still at `version`; false when another run changed it first. */
  async updateRotationAtVersion(
    tx: Tx,
    id: string,
    version: number,
    columns: Partial<Omit<KeyRotationEntity, 'id' | 'clientRowId' | 'createdAt' | 'client'>>,
  ): Promise<boolean> {
    const { affected } = await this.tx(tx).getRepository(KeyRotationEntity).update({ id, version }, columns);
    return affected === 1;
  }

  /** Rotations whose next step is due, soonest first. */
  async dueRotations(now: Date, limit: number, tx?: Tx): Promise<{ id: string; version: number; nextStepAt: Date }[]> {
    const rows = (await this.tx(tx).query(
      `SELECT id, version, next_step_at FROM key_rotations
       WHERE status <> 'done' AND next_step_at IS NOT NULL AND next_step_at <= $1 ORDER BY next_step_at LIMIT $2`,
      [now, limit],
    )) as { id: string; version: number; next_step_at: Date }[];
    return rows.map((r) => ({ id: r.id, version: r.version, nextStepAt: r.next_step_at }));
  }

  /**
   * One page (keyset on activated_at, client id) of unpaused clients whose active managed key is
   * older than their policy's period and that have no open rotation. The window is checked by the caller.
   */
  async scheduledRotationCandidates(
    now: Date,
    after: { activatedAt: Date; id: string },
    limit: number,
    tx?: Tx,
  ): Promise<ScheduledRotationCandidate[]> {
    return (await this.tx(tx).query(
      `SELECT c.id, k.activated_at, c.rotation_policy AS client_policy, s.rotation_policy AS server_policy
       FROM client_keys k
       JOIN clients c ON c.id = k.client_row_id
       JOIN authorization_servers s ON s.id = c.authorization_server_id
       WHERE k.state = 'active' AND k.origin = 'managed' AND NOT c.paused
         AND k.activated_at <= $1::timestamptz - make_interval(days => ${ROTATION_PERIOD_DAYS_SQL})
         AND (k.activated_at, c.id) > ($2::timestamptz, $3::uuid)
         AND NOT EXISTS (SELECT 1 FROM key_rotations r WHERE r.client_row_id = c.id AND r.status <> 'done')
       ORDER BY k.activated_at, c.id
       LIMIT $4`,
      [now, after.activatedAt, after.id, limit],
    )) as ScheduledRotationCandidate[];
  }

  // possession challenges

  async insertChallenge(
    row: { id: string; clientRowId: string; nonce: string; expiresAt: Date; createdAt: Date },
    tx?: Tx,
  ): Promise<void> {
    await this.tx(tx).query(
      'INSERT INTO key_possession_challenges (id, client_row_id, nonce, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)',
      [row.id, row.clientRowId, row.nonce, row.expiresAt, row.createdAt],
    );
  }

  /** Spends the client's unexpired, unused challenge; its nonce, or null when there is none to spend. */
  async spendChallenge(challengeId: string, clientRowId: string, now: Date, tx?: Tx): Promise<string | null> {
    const {
      rows: [spent],
    } = await write<{ nonce: string }>(
      this.tx(tx),
      `UPDATE key_possession_challenges SET used_at = $3
         WHERE id = $1 AND client_row_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING nonce`,
      [challengeId, clientRowId, now],
    );
    return spent?.nonce ?? null;
  }

  // ── section: what the migration executors read ───────────────────────────────────────────────

  // ── section: reports and evidence packs ──────────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
