import { sqlInList } from '@keyshift/common';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ClientEntity } from '../clients/client.entity';
import { KeyAlgorithm } from './key-algorithms';

/**
 * A rotation's steps, in order (after AWS Secrets Manager's create/set/test/finish). Each is
 * idempotent and written back under the row's version, so a worker killed between two steps
 * leaves the rotation at the step it had reached.
 */
export enum RotationStep {
  /** Generate the next key as pending (or adopt a registered BYOK key). */
  Create = 'create',
  /** Publish the pending key and start the overlap clock. */
  Publish = 'publish',
  /** After the overlap: a private_key_jwt probe signed with the new key must succeed. */
  Test = 'test',
  /** The new key becomes active and the old one retiring, in one transaction. */
  Promote = 'promote',
  /** After the overlap: the old key leaves the JWKS. */
  Retire = 'retire',
  Done = 'done',
}

export const ROTATION_STEPS: readonly RotationStep[] = Object.values(RotationStep);

export enum RotationStatus {
  /** The next step may run at `next_step_at`. */
  Running = 'running',
  /** Waiting for an overlap to pass (`next_step_at`). */
  Waiting = 'waiting',
  /** The last attempt at the step failed (`last_error`); retried at `next_step_at`, or by a person when null. */
  Failed = 'failed',
  Done = 'done',
}

export enum RotationTrigger {
  Manual = 'manual',
  Schedule = 'schedule',
}

@Entity({ name: 'key_rotations' })
@Index('UQ_key_rotations_one_open', ['clientRowId'], { unique: true, where: `"status" <> 'done'` })
@Index('IDX_key_rotations_due', ['nextStepAt'], { where: `"status" <> 'done' AND "next_step_at" IS NOT NULL` })
@Index('IDX_key_rotations_client', ['clientRowId', 'id'])
@Check('CHK_key_rotations_step', `"step" IN (${sqlInList(RotationStep)})`)
@Check('CHK_key_rotations_status', `"status" IN (${sqlInList(RotationStatus)})`)
@Check('CHK_key_rotations_trigger', `"trigger" IN (${sqlInList(RotationTrigger)})`)
export class KeyRotationEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'client_row_id' })
  clientRowId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_row_id', foreignKeyConstraintName: 'FK_key_rotations_client' })
  client?: ClientEntity;

  @Column('text')
  trigger!: RotationTrigger;

  @Column('text')
  alg!: KeyAlgorithm;

  @Column('integer', { name: 'modulus_length', nullable: true })
  modulusLength!: number | null;

  @Column('text')
  step!: RotationStep;

  @Column('text')
  status!: RotationStatus;

  @Column('uuid', { name: 'new_key_id', nullable: true })
  newKeyId!: string | null;

  @Column('uuid', { name: 'old_key_id', nullable: true })
  oldKeyId!: string | null;

  /** Fixed when the rotation starts, from the server's profile and the policy (rotation-policy.ts). */
  @Column('integer', { name: 'overlap_seconds' })
  overlapSeconds!: number;

  @Column('timestamptz', { name: 'next_step_at', nullable: true })
  nextStepAt!: Date | null;

  /** Failed attempts at the current step. */
  @Column('integer', { default: 0 })
  attempts!: number;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column('integer')
  version!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}
