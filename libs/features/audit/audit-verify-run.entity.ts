import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The outcome of a full verification of the audit chain (scheduled by the worker, or asked for
 * through the API), sealed like a checkpoint. The estate report states the newest one.
 */
@Entity({ name: 'audit_verify_runs' })
@Check('CHK_audit_verify_runs_trigger', `"trigger" IN ('request', 'schedule')`)
@Index('IDX_audit_verify_runs_finished_at', ['finishedAt'])
export class AuditVerifyRunEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  trigger!: 'request' | 'schedule';

  @Column('timestamptz', { name: 'started_at' })
  startedAt!: Date;

  @Column('timestamptz', { name: 'finished_at' })
  finishedAt!: Date;

  @Column('boolean')
  ok!: boolean;

  @Column('bigint', { name: 'events_checked' })
  eventsChecked!: string;

  /** The last event that verified. */
  @Column('bigint', { name: 'tip_seq' })
  tipSeq!: string;

  /** The first affected event, when not ok. */
  @Column('bigint', { name: 'break_seq', nullable: true })
  breakSeq!: string | null;

  @Column('text', { nullable: true })
  problem!: string | null;

  @Column('text', { nullable: true })
  message!: string | null;

  /** HMAC-SHA-256 (hex) over the outcome with a key derived from the master key. */
  @Column('char', { length: 64 })
  seal!: string;
}
