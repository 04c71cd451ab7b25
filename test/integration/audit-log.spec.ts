import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SystemClock } from '@keyshift/common';
import { dataSourceOptions } from '@keyshift/database';
import { hashEvent } from '@keyshift/features/audit/audit-chain';
import { decodeEvent, EVENT_TEXT_COLUMNS, EventTextRow } from '@keyshift/features/audit/audit-chain-walk';
import { deriveAuditKeys } from '@keyshift/features/audit/audit-keys';
import { AuditLog, AuditVerifyTuning } from '@keyshift/features/audit/audit-log.service';
import { DataSource } from 'typeorm';
import { auditLogFor } from '../support/audit-log';
import { createTestDatabase, TestDatabase } from '../support/test-env';

/** The keys a master key of this run derives (the log's only secret). */
const keys = deriveAuditKeys(randomBytes(32));

const entry = (i: number) => ({
  actor: 'test',
  action: 'thing.done',
  subjectType: 'thing',
  subjectId: `t${i}`,
  after: { i, note: 'ü ✓' },
});

/** A DBA can bypass the append-only trigger; the chain still tells. */
async function asSuperuser(dataSource: DataSource, sql: string, params: unknown[] = []): Promise<void> {
  await dataSource.transaction(async (m) => {
    await m.query('SET LOCAL session_replication_role = replica');
    await m.query(sql, params);
  });
}

async function checkpoints(dataSource: DataSource): Promise<{ seq: string; mode: string; events_checked: string }[]> {
  return dataSource.query('SELECT seq, mode, events_checked FROM audit_checkpoints ORDER BY seq');
}

describe('audit log (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let audit: AuditLog;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
    audit = auditLogFor(dataSource, new SystemClock(), keys);
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('chains concurrent appends without gaps and verifies them', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => audit.record([entry(i), entry(i + 100)])));
    const report = await audit.verify();
    // No checkpoint yet: the incremental default walks from the genesis, then records one.
    expect(report).toMatchObject({
      ok: true,
      mode: 'incremental',
      fromSeq: '1',
      startedFrom: null,
      eventsChecked: 40,
      tip: { seq: '40' },
      firstBreak: null,
      checkpointRecorded: true,
    });
  });

  it('refuses UPDATE and DELETE at the database', async () => {
    await expect(dataSource.query(`UPDATE audit_events SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query('DELETE FROM audit_events WHERE seq = 1')).rejects.toThrow(/append-only/);
  });

  it('names the row a superuser edited behind its back', async () => {
    await asSuperuser(dataSource, `UPDATE audit_events SET after = '{"i": 7, "note": "edited"}' WHERE seq = 17`);
    const report = await audit.verify({ mode: 'full' });
    expect(report).toMatchObject({ ok: false, eventsChecked: 16, firstBreak: { seq: '17', problem: 'hash_mismatch' } });
  });

  it('lists events by subject with a cursor', async () => {
    const page = await audit.list({ subjectType: 'thing', limit: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.nextCursor).not.toBeNull();
    const bySubject = await audit.list({ subjectId: 't3', limit: 10 });
    expect(bySubject.items.map((e) => e.subjectId)).toEqual(['t3']);
  });
});

describe('audit chain checkpoints (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let audit: AuditLog;

  // Each test gets a fresh chain: 30 events, verified once, so a checkpoint stands at 30.
  beforeEach(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
    audit = auditLogFor(dataSource, new SystemClock(), keys);
    await audit.record(Array.from({ length: 30 }, (_, i) => entry(i)));
    expect(await audit.verify()).toMatchObject({ ok: true, eventsChecked: 30, checkpointRecorded: true });
  });
  afterEach(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('starts an incremental verification at the checkpoint: only the new events are checked', async () => {
    await audit.record(Array.from({ length: 5 }, (_, i) => entry(100 + i)));
    const report = await audit.verify();
    expect(report).toMatchObject({
      ok: true,
      mode: 'incremental',
      fromSeq: '31',
      startedFrom: { seq: '30', mode: 'full' },
      eventsChecked: 5,
      tip: { seq: '35' },
      checkpointRecorded: true,
    });
    expect(await checkpoints(dataSource)).toEqual([
      { seq: '30', mode: 'full', events_checked: '30' },
      { seq: '35', mode: 'incremental', events_checked: '5' },
    ]);
    // Nothing new: nothing walked, and no second checkpoint at the same tip.
    expect(await audit.verify()).toMatchObject({
      ok: true,
      eventsChecked: 0,
      startedFrom: { seq: '35' },
      checkpointRecorded: false,
    });
    expect(await checkpoints(dataSource)).toHaveLength(2);
  });

  it('catches an edit after the checkpoint incrementally, and records no checkpoint', async () => {
    await audit.record(Array.from({ length: 10 }, (_, i) => entry(100 + i)));
    await asSuperuser(dataSource, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 35`);
    const report = await audit.verify();
    expect(report).toMatchObject({
      ok: false,
      mode: 'incremental',
      startedFrom: { seq: '30' },
      eventsChecked: 4,
      tip: { seq: '34' },
      firstBreak: { seq: '35', problem: 'hash_mismatch' },
      checkpointRecorded: false,
    });
    expect((await checkpoints(dataSource)).map((c) => c.seq)).toEqual(['30']);
  });

  it('misses an edit before the checkpoint incrementally (the trade-off) but a full walk catches it', async () => {
    await asSuperuser(dataSource, `UPDATE audit_events SET after = '{"i": 11, "note": "edited"}' WHERE seq = 12`);
    expect(await audit.verify()).toMatchObject({ ok: true, eventsChecked: 0, startedFrom: { seq: '30' } });
    expect(await audit.verify({ mode: 'full' })).toMatchObject({
      ok: false,
      mode: 'full',
      fromSeq: '1',
      startedFrom: null,
      eventsChecked: 11,
      firstBreak: { seq: '12', problem: 'hash_mismatch' },
      checkpointRecorded: false,
    });
  });

  it('catches an edit of the checkpoint event itself incrementally', async () => {
    await audit.record([entry(100)]);
    await asSuperuser(dataSource, `UPDATE audit_events SET subject_id = 'elsewhere' WHERE seq = 30`);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      eventsChecked: 0,
      firstBreak: { seq: '30', problem: 'hash_mismatch' },
      checkpointRecorded: false,
    });
  });

  it('catches a checkpoint event rewritten and rehashed without the key incrementally', async () => {
    const [row] = (await dataSource.query(
      `SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq = 30`,
    )) as EventTextRow[];
    const forged = { ...decodeEvent(row), actor: 'mallory' };
    // A careful forger rehashes the event (with Keyshift's own, unkeyed function) and moves the head.
    await asSuperuser(dataSource, `UPDATE audit_events SET actor = 'mallory', hash = $1 WHERE seq = 30`, [
      hashEvent(forged),
    ]);
    await asSuperuser(dataSource, `UPDATE audit_chain_head SET last_hash = $1`, [hashEvent(forged)]);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: '30', problem: 'hash_mismatch' },
      checkpointRecorded: false,
    });
  });

  it('names events cut from the end behind the checkpoint', async () => {
    await audit.record([entry(100), entry(101)]);
    await asSuperuser(dataSource, 'DELETE FROM audit_events WHERE seq = 32');
    expect(await audit.verify()).toMatchObject({
      ok: false,
      eventsChecked: 1,
      tip: { seq: '31' },
      firstBreak: { seq: '32', problem: 'head_mismatch' },
    });
  });

  it('writes no checkpoint after a break, in either mode', async () => {
    await audit.record(Array.from({ length: 5 }, (_, i) => entry(100 + i)));
    await asSuperuser(dataSource, `UPDATE audit_events SET action = 'x' WHERE seq = 3`);
    expect(await audit.verify({ mode: 'full' })).toMatchObject({ ok: false, checkpointRecorded: false });
    expect((await checkpoints(dataSource)).map((c) => c.seq)).toEqual(['30']);
  });

  it('runs concurrent verifications of one mode once, each caller getting its report', async () => {
    await audit.record(Array.from({ length: 5 }, (_, i) => entry(100 + i)));
    const [a, b] = await Promise.all([audit.verify({ mode: 'full' }), audit.verify({ mode: 'full' })]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ ok: true, eventsChecked: 35 });
    // Run over, the next call walks again.
    const c = await audit.verify({ mode: 'full' });
    expect(c).not.toBe(a);
    expect(c).toMatchObject({ ok: true, eventsChecked: 35, checkpointRecorded: false });
  });
});

describe('audit chain verification on worker threads (PostgreSQL)', () => {
  // The compiled worker: `npm test` builds first, as the test authorization server needs dist/ too.
  const workerScript = join(__dirname, '..', '..', 'dist', 'libs', 'features', 'audit', 'audit-verify.worker.js');
  let db: TestDatabase;
  let dataSource: DataSource;
  const tuned = (t: Partial<AuditVerifyTuning>) => auditLogFor(dataSource, new SystemClock(), keys, t);
  // Tiny segments and batches, so 100 events cross many segment boundaries.
  const onWorkers = () => tuned({ workerScript, workers: 3, minEventsForWorkers: 0, segment: 7, batch: 3 });
  const inThread = () => tuned({ workerScript: null, batch: 3, sliceMs: 0 });

  beforeEach(async () => {
    if (!existsSync(workerScript)) throw new Error(`${workerScript} is missing: run npm run build first`);
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
    await auditLogFor(dataSource, new SystemClock(), keys).record(Array.from({ length: 100 }, (_, i) => entry(i)));
  });
  afterEach(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('verifies a chain across segments as the calling thread does', async () => {
    const workers = await onWorkers().verify({ mode: 'full' });
    expect(workers).toMatchObject({ ok: true, eventsChecked: 100, tip: { seq: '100' } });
    // The same report but for timing, and the checkpoint the first run already recorded.
    expect(await inThread().verify({ mode: 'full' })).toEqual({
      ...workers,
      durationMs: expect.any(Number),
      checkpointRecorded: false,
    });
  });

  it.each([
    ['an edit mid-segment', `UPDATE audit_events SET actor = 'mallory' WHERE seq = 26`, '26', 'hash_mismatch', 25],
    ['a deleted first event of a segment', 'DELETE FROM audit_events WHERE seq = 71', '71', 'missing_event', 70],
  ])('names the first break after %s, as the calling thread does', async (_, sql, seq, problem, checked) => {
    await asSuperuser(dataSource, sql);
    // A later break too: the first one in seq order must win, whichever worker finishes first.
    await asSuperuser(dataSource, `UPDATE audit_events SET action = 'later' WHERE seq = 90`);
    const workers = await onWorkers().verify({ mode: 'full' });
    expect(workers).toMatchObject({ ok: false, eventsChecked: checked, firstBreak: { seq, problem } });
    expect((await inThread().verify({ mode: 'full' })).firstBreak).toEqual(workers.firstBreak);
  });
});
