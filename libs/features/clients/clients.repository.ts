import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import { NEEDS_A_PERSON_STATES, Phase, PhaseState } from '@keyshift/domain';
import { DataSource } from 'typeorm';

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

  // ── section: keys and probes ─────────────────────────────────────────────────────────────────

  // ── section: registrations at the server (connectors, registrar, migration executors) ────────

  // ── section: reports and audit read models ───────────────────────────────────────────────────

  // ── end of sections ──────────────────────────────────────────────────────────────────────────
}
