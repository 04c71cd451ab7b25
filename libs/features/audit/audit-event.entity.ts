import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One link of the hash-chained, append-only audit log. A trigger in the database refuses UPDATE,
 * DELETE and TRUNCATE, and the runtime's role may only INSERT and SELECT; `hash` is HMAC-SHA-256,
 * with a key derived from the master key, over the canonical JSON (RFC 8785) of the event including
 * `prevHash`, the previous event's hash (unkeyed SHA-256 for events before the head's `keyedFrom`).
 */
@Entity({ name: 'audit_events' })
@Index('IDX_audit_events_subject', ['subjectType', 'subjectId', 'seq'])
@Index('IDX_audit_events_action', ['action', 'seq'])
@Index('IDX_audit_events_occurred_at', ['occurredAt'])
export class AuditEventEntity {
  /** Gap-free position in the chain, assigned under the chain-head lock. */
  @PrimaryColumn('bigint')
  seq!: string;

  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt!: Date;

  @Column('text')
  actor!: string;

  @Column('text')
  action!: string;

  @Column('text', { name: 'subject_type' })
  subjectType!: string;

  @Column('text', { name: 'subject_id' })
  subjectId!: string;

  @Column('jsonb', { nullable: true })
  before!: Record<string, unknown> | null;

  @Column('jsonb', { nullable: true })
  after!: Record<string, unknown> | null;

  @Column('char', { name: 'prev_hash', length: 64 })
  prevHash!: string;

  @Column('char', { length: 64 })
  hash!: string;
}

/**
 * A single row holding the chain's tip; locking it serialises appends. Sealed (HMAC with a key
 * derived from the master key) over the tip and `keyedFrom`, so a head moved back over cut events,
 * or a keyed stretch passed off as unkeyed, shows.
 */
@Entity({ name: 'audit_chain_head' })
export class AuditChainHeadEntity {
  @PrimaryColumn('smallint')
  id!: number;

  @Column('bigint', { name: 'last_seq' })
  lastSeq!: string;

  @Column('char', { name: 'last_hash', length: 64 })
  lastHash!: string;

  /** The first keyed event; those before it (written before keyed chains) carry unkeyed hashes. Null until the first keyed append. */
  @Column('bigint', { name: 'keyed_from', nullable: true })
  keyedFrom!: string | null;

  /** HMAC-SHA-256 (hex) over (lastSeq, lastHash, keyedFrom); null until the first keyed append. */
  @Column('char', { length: 64, nullable: true })
  seal!: string | null;
}
