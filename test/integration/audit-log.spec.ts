import { SystemClock } from '@keyshift/common';
import { dataSourceOptions } from '@keyshift/database';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../support/test-env';

describe('audit log (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let audit: AuditLog;

  const entry = (i: number) => ({
    actor: 'test',
    action: 'thing.done',
    subjectType: 'thing',
    subjectId: `t${i}`,
    after: { i, note: 'ü ✓' },
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
    audit = new AuditLog(dataSource, new SystemClock());
  });
  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  it('chains concurrent appends without gaps and verifies them', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => audit.record([entry(i), entry(i + 100)])));
    const report = await audit.verify();
    expect(report).toMatchObject({ ok: true, eventsChecked: 40, tip: { seq: '40' }, firstBreak: null });
  });

  it('refuses UPDATE and DELETE at the database', async () => {
    await expect(dataSource.query(`UPDATE audit_events SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query('DELETE FROM audit_events WHERE seq = 1')).rejects.toThrow(/append-only/);
  });

  it('names the row a superuser edited behind its back', async () => {
    // A DBA can bypass the trigger; the chain still tells.
    await dataSource.transaction(async (m) => {
      await m.query('SET LOCAL session_replication_role = replica');
      await m.query(`UPDATE audit_events SET after = '{"i": 7, "note": "edited"}' WHERE seq = 17`);
    });
    const report = await audit.verify();
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
