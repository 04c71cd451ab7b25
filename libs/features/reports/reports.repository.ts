import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx, write } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { ReportEntity, ReportFormat, ReportKind, ReportStatus } from './report.entity';

/**
 * All SQL on `reports` and `report_chunks`: the reports the worker produces. A render holds its
 * row's lock from claim to commit, so every status change here says which status it leaves.
 */
@Injectable()
export class ReportsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  // ── section: requests and downloads (API) ────────────────────────────────────────────────────

  /** The same report already on its way (queued or running), if any. */
  findPending(kind: ReportKind, format: ReportFormat, params: Record<string, string>): Promise<ReportEntity | null> {
    return this.dataSource
      .getRepository(ReportEntity)
      .createQueryBuilder('r')
      .where(
        `r.kind = :kind AND r.format = :format AND r.params = :params::jsonb AND r.status IN ('queued', 'running')`,
        { kind, format, params: JSON.stringify(params) },
      )
      .getOne();
  }

  async insert(tx: Tx, report: ReportEntity): Promise<void> {
    await tx.getRepository(ReportEntity).insert(report);
  }

  findById(id: string): Promise<ReportEntity | null> {
    return this.dataSource.getRepository(ReportEntity).findOne({ where: { id } });
  }

  /** One stored chunk of a report's content, or null if it is gone. */
  async chunk(reportId: string, seq: number): Promise<Buffer | null> {
    const [row] = (await this.dataSource.query('SELECT data FROM report_chunks WHERE report_id = $1 AND seq = $2', [
      reportId,
      seq,
    ])) as { data: Buffer }[];
    return row?.data ?? null;
  }

  // ── section: rendering (worker) ──────────────────────────────────────────────────────────────

  /** Queued → running with the attempt counted, committed on its own; false: nothing to do. */
  async claim(reportId: string, at: Date, maxAttempts: number): Promise<boolean> {
    const { count } = await write(
      this.dataSource.manager,
      `UPDATE reports SET status = 'running', attempts = attempts + 1, started_at = $2
       WHERE id = $1 AND status = 'queued' AND attempts < $3`,
      [reportId, at, maxAttempts],
    );
    return count === 1;
  }

  /** The running report, locked until `tx` ends; null if another delivery holds it (SKIP LOCKED) or it is gone. */
  async lockRunning(tx: Tx, reportId: string): Promise<ReportEntity | null> {
    const [report] = await tx
      .getRepository(ReportEntity)
      .createQueryBuilder('r')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where('r.id = :id AND r.status = :running', { id: reportId, running: ReportStatus.Running })
      .getMany();
    return report ?? null;
  }

  async insertChunk(tx: Tx, reportId: string, seq: number, data: Buffer): Promise<void> {
    await tx.query('INSERT INTO report_chunks (report_id, seq, data) VALUES ($1, $2, $3)', [reportId, seq, data]);
  }

  async markReady(tx: Tx, reportId: string, byteSize: number, sha256: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE reports SET status = 'ready', byte_size = $2, sha256 = $3, finished_at = $4, error = NULL
       WHERE id = $1`,
      [reportId, byteSize, sha256, at],
    );
  }

  /** A failed render: queued again while attempts remain, else failed; the error says only what failed. */
  async markAttemptFailed(reportId: string, maxAttempts: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE reports SET status = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END, error = $3
       WHERE id = $1 AND status = 'running'`,
      [reportId, maxAttempts, error],
    );
  }

  // ── section: the reports tick (worker) ───────────────────────────────────────────────────────

  async deleteExpired(now: Date): Promise<void> {
    await this.dataSource.query('DELETE FROM reports WHERE expires_at <= $1', [now]);
  }

  /**
   * Reports queued or running past the grace time whose row nobody holds (SKIP LOCKED passes a
   * live render by): their job was lost or their worker died. Locked until `tx` ends.
   */
  lockOwed(tx: Tx, now: Date, graceSeconds: number): Promise<{ id: string; attempts: number }[]> {
    return tx.query(
      `SELECT id, attempts FROM reports
       WHERE status IN ('queued', 'running') AND coalesce(started_at, created_at) < $1::timestamptz - make_interval(secs => $2)
       FOR UPDATE SKIP LOCKED`,
      [now, graceSeconds],
    ) as Promise<{ id: string; attempts: number }[]>;
  }

  async failOutOfAttempts(tx: Tx, ids: string[]): Promise<void> {
    await tx.query(
      `UPDATE reports SET status = 'failed', error = 'the report could not be produced in ' || attempts || ' attempts'
       WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  async requeue(tx: Tx, ids: string[]): Promise<void> {
    await tx.query(`UPDATE reports SET status = 'queued' WHERE id = ANY($1::uuid[])`, [ids]);
  }
}
