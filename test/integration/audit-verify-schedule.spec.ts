import { randomBytes } from 'node:crypto';
import { Clock, createLogger } from '@keyshift/common';
import { loadConfig } from '@keyshift/config';
import { dataSourceOptions, ReadSnapshots } from '@keyshift/database';
import { deriveAuditKeys } from '@keyshift/features/audit/audit-keys';
import { AuditVerifyTickHandler } from '@keyshift/features/audit/audit-verify-tick.handler';
import { EstateReports } from '@keyshift/features/reports/estate-reports.service';
import { ReportFormat } from '@keyshift/features/reports/report.entity';
import { DataSource } from 'typeorm';
import { auditParts } from '../support/audit-log';
import { createTestDatabase, TestDatabase, testEnv } from '../support/test-env';

class MovableClock extends Clock {
  constructor(private at: number) {
    super();
  }
  now(): Date {
    return new Date(this.at);
  }
  advanceHours(hours: number): void {
    this.at += hours * 3_600_000;
  }
}

async function text(chunks: AsyncGenerator<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

/**
 * The worker's scheduled full verification (KEYSHIFT_AUDIT_FULL_VERIFY_HOURS) and the estate
 * report that states its last outcome, as Keyshift runs them: on the runtime role.
 */
describe('scheduled full verification of the audit chain (PostgreSQL)', () => {
  let db: TestDatabase;
  let admin: DataSource;
  let runtime: DataSource;
  const clock = new MovableClock(Date.parse('2026-03-01T00:00:00Z'));
  let handler: AuditVerifyTickHandler;
  let reports: EstateReports;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    runtime = await new DataSource(dataSourceOptions(db.runtimeUrl, 2)).initialize();
    const config = loadConfig(testEnv(db, { KEYSHIFT_AUDIT_FULL_VERIFY_HOURS: '6' }));
    const keys = deriveAuditKeys(config.crypto.masterKey);
    const { repository, verify, log: audit } = auditParts(runtime, clock, keys);
    handler = new AuditVerifyTickHandler(repository, verify, clock, config, createLogger('silent', 'test'));
    reports = new EstateReports(new ReadSnapshots(runtime), audit, clock, keys);
    await audit.record(
      Array.from({ length: 20 }, (_, i) => ({ actor: 't', action: 'x', subjectType: 's', subjectId: `${i}` })),
    );
  });
  afterAll(async () => {
    await runtime.destroy();
    await admin.destroy();
    await db.drop();
  });

  const runs = (): Promise<{ trigger: string; ok: boolean; break_seq: string | null }[]> =>
    admin.query('SELECT trigger, ok, break_seq::text AS break_seq FROM audit_verify_runs ORDER BY finished_at');

  it('reports that no full verification ran yet', async () => {
    const summary = await reports.summary({});
    expect(summary.auditVerification).toBeNull();
    expect(summary.controls.find((c) => c.reference === 'CC6.1')?.observation).toContain(
      'The audit chain has had no full verification yet',
    );
  });

  it('walks the whole chain when due, once per period, and records the outcome', async () => {
    await handler.handle({ tick: 1 });
    expect(await runs()).toEqual([{ trigger: 'schedule', ok: true, break_seq: null }]);
    clock.advanceHours(5);
    await handler.handle({ tick: 2 });
    expect(await runs()).toHaveLength(1);
    expect((await reports.summary({})).auditVerification).toMatchObject({
      trigger: 'schedule',
      ok: true,
      eventsChecked: 20,
      tipSeq: '20',
      firstBreak: null,
      sealed: true,
    });
  });

  it('records the first broken event, which the JSON and CSV summaries state', async () => {
    await admin.transaction(async (m) => {
      await m.query('SET LOCAL session_replication_role = replica');
      await m.query(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 7`);
    });
    clock.advanceHours(2);
    await handler.handle({ tick: 3 });
    expect((await runs()).at(-1)).toEqual({ trigger: 'schedule', ok: false, break_seq: '7' });

    const json = JSON.parse(await text(reports.chunks({}, ReportFormat.Json, 'clients'))) as {
      summary: { auditVerification: unknown };
    };
    expect(json.summary.auditVerification).toEqual({
      at: clock.now().toISOString(),
      trigger: 'schedule',
      ok: false,
      eventsChecked: 6,
      tipSeq: '6',
      firstBreak: { seq: '7', problem: 'hash_mismatch', message: 'event 7 was altered after it was written' },
      sealed: true,
    });
    const csv = await text(reports.chunks({}, ReportFormat.Csv, 'summary'));
    expect(csv).toContain('audit_verification,ok,false\n');
    expect(csv).toContain('audit_verification,first_break_seq,7\n');
    expect(csv).toContain('found a break at event 7 (hash_mismatch');
  });

  it('does not report an outcome rewritten without the key', async () => {
    await admin.query(`UPDATE audit_verify_runs SET ok = true, break_seq = NULL, problem = NULL, message = NULL`);
    const summary = await reports.summary({});
    expect(summary.auditVerification).toMatchObject({ sealed: false });
    const csv = await text(reports.chunks({}, ReportFormat.Csv, 'summary'));
    expect(csv).toContain('audit_verification,ok,unknown (record not sealed)\n');
  });
});

it('the master key alone decides the audit keys', () => {
  const key = randomBytes(32);
  expect(deriveAuditKeys(key)).toEqual(deriveAuditKeys(Buffer.from(key)));
  expect(deriveAuditKeys(key).chain.equals(deriveAuditKeys(randomBytes(32)).chain)).toBe(false);
  expect(deriveAuditKeys(key).chain.equals(deriveAuditKeys(key).seal)).toBe(false);
});

it('configures the owner connection and the full-verify period, with their defaults', () => {
  const required = { KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'), KEYSHIFT_ADMIN_TOKEN: 'x'.repeat(32) };
  const runtimeUrl = 'postgres://keyshift_app@db:5432/keyshift';
  expect(loadConfig({ ...required, DATABASE_URL: runtimeUrl })).toMatchObject({
    database: { url: runtimeUrl, migrationUrl: runtimeUrl },
    audit: { fullVerifyHours: 24 },
  });
  const ownerUrl = 'postgres://keyshift_owner@db:5432/keyshift';
  expect(
    loadConfig({ ...required, DATABASE_URL: runtimeUrl, KEYSHIFT_MIGRATION_DATABASE_URL: ownerUrl }).database,
  ).toMatchObject({ url: runtimeUrl, migrationUrl: ownerUrl });
  expect(() => loadConfig({ ...required, KEYSHIFT_AUDIT_FULL_VERIFY_HOURS: '501' })).toThrow(
    /KEYSHIFT_AUDIT_FULL_VERIFY_HOURS/,
  );
  expect(() => loadConfig({ ...required, KEYSHIFT_MIGRATION_DATABASE_URL: 'mysql://x' })).toThrow(
    /KEYSHIFT_MIGRATION_DATABASE_URL/,
  );
});
