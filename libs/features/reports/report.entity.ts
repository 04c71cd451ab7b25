import { sqlInList } from '@keyshift/common';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

export enum ReportKind {
  /** The estate report (summary + one row per client). */
  Estate = 'estate',
  /** A campaign's evidence pack: a JWS over its members' transitions and the probes behind them. */
  CampaignEvidence = 'campaign_evidence',
}

export enum ReportFormat {
  Json = 'json',
  Csv = 'csv',
  Pdf = 'pdf',
  /** A compact JWS (RFC 7515) signed with Keyshift's report-signing key. */
  Jws = 'jws',
}

export enum ReportStatus {
  Queued = 'queued',
  Running = 'running',
  Ready = 'ready',
  Failed = 'failed',
}

/**
 * A report produced by the worker, so that large or CPU-heavy reports never hold the API: the
 * request returns 202 at once, the content is written in chunks and downloaded when ready.
 */
@Entity({ name: 'reports' })
@Index('IDX_reports_status', ['status', 'createdAt'])
@Index('IDX_reports_expires_at', ['expiresAt'])
@Check('CHK_reports_kind', `"kind" IN (${sqlInList(ReportKind)})`)
@Check('CHK_reports_format', `"format" IN (${sqlInList(ReportFormat)})`)
@Check('CHK_reports_status', `"status" IN (${sqlInList(ReportStatus)})`)
export class ReportEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  kind!: ReportKind;

  @Column('text')
  format!: ReportFormat;

  /** What the report covers: the estate filter, or the campaign id. */
  @Column('jsonb')
  params!: Record<string, string>;

  @Column('text')
  status!: ReportStatus;

  @Column('text', { name: 'requested_by' })
  requestedBy!: string;

  @Column('text', { nullable: true })
  error!: string | null;

  @Column('bigint', { name: 'byte_size', nullable: true })
  byteSize!: string | null;

  /** SHA-256 (hex) of the content, so a downloaded copy can be checked against the record. */
  @Column('char', { length: 64, nullable: true })
  sha256!: string | null;

  @Column('integer', { default: 0 })
  attempts!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;
}

/** The content of a report, in order, a chunk at a time, so neither writing nor reading holds it whole. */
@Entity({ name: 'report_chunks' })
export class ReportChunkEntity {
  @PrimaryColumn('uuid', { name: 'report_id' })
  reportId!: string;

  @PrimaryColumn('integer')
  seq!: number;

  @ManyToOne(() => ReportEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'report_id', foreignKeyConstraintName: 'FK_report_chunks_report' })
  report?: ReportEntity;

  @Column('bytea')
  data!: Buffer;
}
