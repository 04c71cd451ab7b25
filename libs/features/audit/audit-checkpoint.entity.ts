import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

export type VerifyMode = 'full' | 'incremental';

/**
 * A point up to which the audit chain was verified: the event at `seq` carried `hash` then, as the
 * seal vouches (a checkpoint written without the key is rejected). An
 * incremental verification starts here instead of at the genesis, so it costs only the events
 * appended since; editing an event before the checkpoint is then only caught by a full one.
 */
@Entity({ name: 'audit_checkpoints' })
@Check('CHK_audit_checkpoints_mode', `"mode" IN ('full', 'incremental')`)
export class AuditCheckpointEntity {
  /** The last event verified. */
  @PrimaryColumn('bigint')
  seq!: string;

  @Column('char', { length: 64 })
  hash!: string;

  @Column('timestamptz', { name: 'verified_at' })
  verifiedAt!: Date;

  /** How `seq` was reached: `full`, one walk from the genesis; `incremental`, from an earlier checkpoint. */
  @Column('text')
  mode!: VerifyMode;

  /** Events that walk verified (after the earlier checkpoint, for an incremental one). */
  @Column('bigint', { name: 'events_checked' })
  eventsChecked!: string;

  @Column('integer', { name: 'duration_ms' })
  durationMs!: number;

  /** HMAC-SHA-256 (hex) over (seq, hash, verifiedAt) with a key derived from the master key; null on checkpoints from before keyed chains. */
  @Column('char', { length: 64, nullable: true })
  seal!: string | null;
}
