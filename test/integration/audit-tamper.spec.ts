import { randomBytes } from 'node:crypto';
import { Logger, SystemClock } from '@keyshift/common';
import { dataSourceOptions, runMigrations } from '@keyshift/database';
import { ChainedFields, hashEvent, keyedHashEvent } from '@keyshift/features/audit/audit-chain';
import { decodeEvent, EVENT_TEXT_COLUMNS, EventTextRow } from '@keyshift/features/audit/audit-chain-walk';
import { AuditKeys, deriveAuditKeys, headSealFields, seal } from '@keyshift/features/audit/audit-keys';
import { AuditLog, VerifyReport } from '@keyshift/features/audit/audit-log.service';
import { AuditRepository } from '@keyshift/features/audit/audit.repository';
import { RuntimeRoleCheck } from '@keyshift/features/audit/runtime-role-check';
import { DataSource } from 'typeorm';
import { databaseUrl, runtimeRoleOf, withAdmin } from '../support/pg-admin';
import { auditLogFor } from '../support/audit-log';
import { createTestDatabase, TestDatabase } from '../support/test-env';

/**
 * An attacker with full write access to the database (a superuser, triggers bypassed with
 * session_replication_role = replica) but without the master key. Every tampering must be named by
 * the next verification: the seq of the first affected event, or for events cut from the end, the
 * first event past the end the chain was sealed at. Keyshift itself runs as the runtime role.
 */

const entry = (i: number) => ({
  actor: 'test',
  action: 'thing.done',
  subjectType: 'thing',
  subjectId: `t${i}`,
  after: { i, note: 'ü ✓' },
});

interface Rig {
  admin: DataSource;
  keys: AuditKeys;
  /** The head row as it was when the chain ended at event 35 (a copy an attacker could have kept). */
  headAt35: { last_seq: string; last_hash: string; keyed_from: string; seal: string };
}

async function asSuperuser(admin: DataSource, sql: string, params: unknown[] = []): Promise<void> {
  await admin.transaction(async (m) => {
    await m.query('SET LOCAL session_replication_role = replica');
    await m.query(sql, params);
  });
}

async function events(admin: DataSource, from: number): Promise<(ChainedFields & { hash: string })[]> {
  const rows = (await admin.query(`SELECT ${EVENT_TEXT_COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq`, [
    from,
  ])) as EventTextRow[];
  return rows.map(decodeEvent);
}

/** Rewrites event `from` with `change`, then re-links and rehashes it and every later one with `hashOf`; moves the head's hash. */
async function rewriteFrom(
  admin: DataSource,
  from: number,
  change: (e: ChainedFields) => ChainedFields,
  hashOf: (e: ChainedFields) => string,
): Promise<string> {
  const chain = await events(admin, from);
  let prevHash = chain[0].prevHash;
  for (const [i, original] of chain.entries()) {
    const e = { ...(i === 0 ? change(original) : original), prevHash };
    const hash = hashOf(e);
    await asSuperuser(
      admin,
      'UPDATE audit_events SET actor = $2, after = $3, prev_hash = $4, hash = $5 WHERE seq = $1',
      [e.seq, e.actor, JSON.stringify(e.after), e.prevHash, hash],
    );
    prevHash = hash;
  }
  await asSuperuser(admin, 'UPDATE audit_chain_head SET last_hash = $1', [prevHash]);
  return prevHash;
}

const mallory = (e: ChainedFields): ChainedFields => ({ ...e, actor: 'mallory' });
const wrongKeys = deriveAuditKeys(randomBytes(32));

interface TamperCase {
  name: string;
  /** A checkpoint at 40 too (besides the one at 30), before the tampering. */
  verifiedTo40?: boolean;
  tamper: (rig: Rig) => Promise<void>;
  named: { seq: string; problem: string };
  /** Whether an incremental verification (from the newest sealed checkpoint) must name it too. */
  incremental: boolean;
}

const CASES: TamperCase[] = [
  {
    name: "edit an event's payload",
    tamper: ({ admin }) => asSuperuser(admin, `UPDATE audit_events SET after = '{"i": 0}' WHERE seq = 35`),
    named: { seq: '35', problem: 'hash_mismatch' },
    incremental: true,
  },
  {
    name: "edit an event's payload before the newest checkpoint",
    tamper: ({ admin }) => asSuperuser(admin, `UPDATE audit_events SET subject_id = 'elsewhere' WHERE seq = 12`),
    named: { seq: '12', problem: 'hash_mismatch' },
    incremental: false,
  },
  {
    name: "edit an event and rehash every later one with Keyshift's own unkeyed function, head moved",
    tamper: async ({ admin }) => void (await rewriteFrom(admin, 33, mallory, hashEvent)),
    named: { seq: '33', problem: 'hash_mismatch' },
    incremental: true,
  },
  {
    name: 'edit an event before the checkpoint and rehash to the end unkeyed',
    tamper: async ({ admin }) => void (await rewriteFrom(admin, 5, mallory, hashEvent)),
    named: { seq: '5', problem: 'hash_mismatch' },
    incremental: false,
  },
  {
    name: 'edit an event, rehash with a wrong key and re-seal the head with a wrong key',
    tamper: async ({ admin }) => {
      const tip = await rewriteFrom(admin, 33, mallory, (e) => keyedHashEvent(wrongKeys.chain, e));
      const head = { seq: '40', hash: tip, keyedFrom: '1' };
      await asSuperuser(admin, 'UPDATE audit_chain_head SET seal = $1', [
        seal(wrongKeys.seal, 'audit-head', headSealFields(head)),
      ]);
    },
    named: { seq: '33', problem: 'hash_mismatch' },
    incremental: true,
  },
  {
    name: 'delete the newest events and leave the head',
    tamper: ({ admin }) => asSuperuser(admin, 'DELETE FROM audit_events WHERE seq > 35'),
    named: { seq: '36', problem: 'head_mismatch' },
    incremental: true,
  },
  {
    name: 'delete the newest events and move the head back',
    tamper: async ({ admin }) => {
      const [e35] = await events(admin, 35);
      await asSuperuser(admin, 'DELETE FROM audit_events WHERE seq > 35');
      await asSuperuser(admin, 'UPDATE audit_chain_head SET last_seq = 35, last_hash = $1', [e35.hash]);
    },
    named: { seq: '36', problem: 'head_seal_invalid' },
    incremental: true,
  },
  {
    name: 'delete the newest events and restore a genuine older head (replayed seal)',
    verifiedTo40: true,
    tamper: async ({ admin, headAt35 }) => {
      await asSuperuser(admin, 'DELETE FROM audit_events WHERE seq > 35');
      await asSuperuser(
        admin,
        'UPDATE audit_chain_head SET last_seq = $1, last_hash = $2, keyed_from = $3, seal = $4',
        [headAt35.last_seq, headAt35.last_hash, headAt35.keyed_from, headAt35.seal],
      );
    },
    named: { seq: '36', problem: 'checkpoint_beyond_chain' },
    incremental: true,
  },
  {
    name: 'insert an event past the head',
    tamper: async ({ admin }) => {
      const [e40] = await events(admin, 40);
      const forged = { ...e40, seq: '41', prevHash: e40.hash, actor: 'mallory' };
      await asSuperuser(
        admin,
        `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash)
         VALUES (41, $1, $2, $3, $4, $5, NULL, $6, $7, $8)`,
        [
          forged.occurredAt,
          forged.actor,
          forged.action,
          forged.subjectType,
          forged.subjectId,
          forged.after,
          forged.prevHash,
          hashEvent(forged),
        ],
      );
    },
    named: { seq: '41', problem: 'hash_mismatch' },
    incremental: true,
  },
  {
    name: 'insert an event in the middle (later ones renumbered and rehashed unkeyed, head moved)',
    tamper: async ({ admin }) => {
      await asSuperuser(admin, 'UPDATE audit_events SET seq = seq + 1000 WHERE seq > 20');
      await asSuperuser(admin, 'UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000');
      const [e20] = await events(admin, 20);
      await asSuperuser(
        admin,
        `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash)
         VALUES (21, $1, 'mallory', 'thing.done', 'thing', 'inserted', NULL, NULL, $2, '')`,
        [e20.occurredAt, e20.hash],
      );
      await rewriteFrom(admin, 21, (e) => e, hashEvent);
      await asSuperuser(admin, 'UPDATE audit_chain_head SET last_seq = 41');
    },
    named: { seq: '21', problem: 'hash_mismatch' },
    incremental: false,
  },
  {
    name: 'reorder two events',
    tamper: async ({ admin }) => {
      await asSuperuser(admin, 'UPDATE audit_events SET seq = 1000 WHERE seq = 34');
      await asSuperuser(admin, 'UPDATE audit_events SET seq = 34 WHERE seq = 35');
      await asSuperuser(admin, 'UPDATE audit_events SET seq = 35 WHERE seq = 1000');
    },
    named: { seq: '34', problem: 'prev_hash_mismatch' },
    incremental: true,
  },
  {
    name: 'truncate the events',
    tamper: ({ admin }) => asSuperuser(admin, 'TRUNCATE audit_events'),
    named: { seq: '1', problem: 'checkpoint_beyond_chain' },
    incremental: true,
  },
  {
    name: 'truncate the events and reset the head to an unsealed genesis',
    tamper: async ({ admin }) => {
      await asSuperuser(admin, 'TRUNCATE audit_events');
      await asSuperuser(
        admin,
        `UPDATE audit_chain_head SET last_seq = 0, last_hash = repeat('0', 64), keyed_from = NULL, seal = NULL`,
      );
    },
    named: { seq: '1', problem: 'checkpoint_beyond_chain' },
    incremental: true,
  },
  {
    name: 'rehash every event unkeyed and unseal the head (a downgrade to a pre-key chain)',
    tamper: async ({ admin }) => {
      await rewriteFrom(admin, 1, (e) => e, hashEvent);
      await asSuperuser(admin, 'UPDATE audit_chain_head SET keyed_from = NULL, seal = NULL');
    },
    named: { seq: '1', problem: 'head_seal_invalid' },
    incremental: true,
  },
  {
    name: 'move the start of the keyed chain past the tip (every event passed off as unkeyed)',
    tamper: ({ admin }) => asSuperuser(admin, 'UPDATE audit_chain_head SET keyed_from = 41'),
    named: { seq: '1', problem: 'hash_mismatch' },
    incremental: false,
  },
  {
    name: 'forge a checkpoint with a made-up seal',
    tamper: async ({ admin }) => {
      const [e38] = await events(admin, 38);
      await asSuperuser(
        admin,
        `INSERT INTO audit_checkpoints (seq, hash, verified_at, mode, events_checked, duration_ms, seal)
         VALUES (38, $1, now(), 'full', 38, 1, $2)`,
        [e38.hash, randomBytes(32).toString('hex')],
      );
    },
    named: { seq: '38', problem: 'checkpoint_forged' },
    incremental: true,
  },
  {
    name: 'forge an unsealed checkpoint',
    tamper: async ({ admin }) => {
      const [e38] = await events(admin, 38);
      await asSuperuser(
        admin,
        `INSERT INTO audit_checkpoints (seq, hash, verified_at, mode, events_checked, duration_ms)
         VALUES (38, $1, now(), 'full', 38, 1)`,
        [e38.hash],
      );
    },
    named: { seq: '38', problem: 'checkpoint_forged' },
    incremental: true,
  },
  {
    name: 'move a genuine checkpoint to another event',
    tamper: ({ admin }) => asSuperuser(admin, 'UPDATE audit_checkpoints SET seq = 25 WHERE seq = 30'),
    named: { seq: '25', problem: 'checkpoint_forged' },
    incremental: true,
  },
];

describe('audit chain against an attacker without the master key (PostgreSQL)', () => {
  let db: TestDatabase;
  let admin: DataSource;
  let runtime: DataSource;
  let keys: AuditKeys;
  let audit: AuditLog;
  const tally = { tried: 0, named: 0 };

  // Each case: 40 events written by Keyshift as the runtime role, a sealed checkpoint at 30.
  async function setUp(verifiedTo40 = false): Promise<Rig> {
    db = await createTestDatabase();
    admin = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    runtime = await new DataSource(dataSourceOptions(db.runtimeUrl, 2)).initialize();
    keys = deriveAuditKeys(randomBytes(32));
    audit = auditLogFor(runtime, new SystemClock(), keys);
    await audit.record(Array.from({ length: 30 }, (_, i) => entry(i)));
    expect(await audit.verify({ mode: 'full' })).toMatchObject({
      ok: true,
      headSealed: true,
      checkpointRecorded: true,
    });
    await audit.record(Array.from({ length: 5 }, (_, i) => entry(30 + i)));
    const [headAt35] = await admin.query('SELECT last_seq, last_hash, keyed_from::text, seal FROM audit_chain_head');
    await audit.record(Array.from({ length: 5 }, (_, i) => entry(35 + i)));
    if (verifiedTo40) expect(await audit.verify()).toMatchObject({ ok: true, tip: { seq: '40' } });
    return { admin, keys, headAt35 };
  }

  afterEach(async () => {
    await runtime?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  afterAll(() => {
    // The figure the issue asks for.
    process.stdout.write(`audit tamper cases: ${tally.tried} tried, ${tally.named} named by the next verification\n`);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('names it: %s', async (_, c) => {
    tally.tried++;
    const rig = await setUp(c.verifiedTo40);
    await c.tamper(rig);
    const full = await audit.verify({ mode: 'full' });
    expect(full).toMatchObject({ ok: false, firstBreak: c.named, checkpointRecorded: false });
    if (c.incremental) {
      const incremental: VerifyReport = await audit.verify();
      expect(incremental).toMatchObject({ ok: false, firstBreak: c.named, checkpointRecorded: false });
    }
    // The outcome the estate report states is the failure, sealed.
    const [run] = await admin.query(
      'SELECT ok, break_seq::text AS break_seq FROM audit_verify_runs ORDER BY finished_at DESC LIMIT 1',
    );
    expect(run).toEqual({ ok: false, break_seq: c.named.seq });
    tally.named++;
  });

  it('refuses to extend a chain whose head lost or does not match its seal', async () => {
    const rig = await setUp();
    const [e35] = await events(rig.admin, 35);
    await asSuperuser(rig.admin, 'DELETE FROM audit_events WHERE seq > 35');
    await asSuperuser(rig.admin, 'UPDATE audit_chain_head SET last_seq = 35, last_hash = $1', [e35.hash]);
    // Extending the rewound head would seal the rewrite.
    await expect(audit.record([entry(99)])).rejects.toThrow(/does not match its seal/);
    await asSuperuser(rig.admin, 'UPDATE audit_chain_head SET keyed_from = NULL, seal = NULL');
    await expect(audit.record([entry(99)])).rejects.toThrow(/is not sealed/);
    // Nor does boot adopt it: sealed checkpoints show it was sealed once.
    expect(await audit.adoptUnsealedChain()).toBe(false);
  });
});

describe('a chain written before keyed chains (PostgreSQL)', () => {
  let db: TestDatabase;
  let admin: DataSource;
  let runtime: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    runtime = await new DataSource(dataSourceOptions(db.runtimeUrl, 2)).initialize();
  });
  afterAll(async () => {
    await runtime.destroy();
    await admin.destroy();
    await db.drop();
  });

  it('still verifies its unkeyed events, and keys what follows once adopted at boot', async () => {
    // 10 events as the previous version wrote them: unkeyed SHA-256, an unsealed head.
    let prevHash = '0'.repeat(64);
    for (let i = 1; i <= 10; i++) {
      const e = { seq: String(i), occurredAt: new Date(), ...entry(i), before: null, prevHash };
      const hash = hashEvent(e);
      await admin.query(
        `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, after, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [e.seq, e.occurredAt, e.actor, e.action, e.subjectType, e.subjectId, e.after, prevHash, hash],
      );
      prevHash = hash;
    }
    await admin.query('UPDATE audit_chain_head SET last_seq = 10, last_hash = $1', [prevHash]);
    const audit = auditLogFor(runtime, new SystemClock(), deriveAuditKeys(randomBytes(32)));
    // An append never adopts a chain that holds events: that is boot's job.
    await expect(audit.record([entry(11)])).rejects.toThrow(/is not sealed/);
    expect(await audit.adoptUnsealedChain()).toBe(true);
    expect(await audit.adoptUnsealedChain()).toBe(false);
    await audit.record([entry(12)]);
    const [adoption] = await admin.query(`SELECT seq::text, action, after FROM audit_events WHERE seq = 11`);
    expect(adoption).toEqual({
      seq: '11',
      action: 'audit.chain_keyed',
      after: { unkeyedEvents: '10', keyedFrom: '11' },
    });
    expect(await audit.verify({ mode: 'full' })).toMatchObject({ ok: true, eventsChecked: 12, headSealed: true });
    // An unkeyed rehash of the keyed stretch is named; the unkeyed stretch is held by the first keyed link.
    await admin.transaction(async (m) => {
      await m.query('SET LOCAL session_replication_role = replica');
      await m.query(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 4`);
    });
    expect(await audit.verify({ mode: 'full' })).toMatchObject({
      ok: false,
      firstBreak: { seq: '4', problem: 'hash_mismatch' },
    });
  });
});

describe('migrations as the owner, the app as the runtime role (PostgreSQL)', () => {
  it('applies every migration on the owner URL to an empty database the runtime role cannot change', async () => {
    const name = `${process.env.KEYSHIFT_TEST_RUN_ID}_empty_${randomBytes(3).toString('hex')}`;
    await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
    const runtime = await new DataSource(
      dataSourceOptions(databaseUrl(name, runtimeRoleOf(process.env.KEYSHIFT_TEST_RUN_ID!)), 2),
    ).initialize();
    try {
      const applied = await runMigrations(runtime, databaseUrl(name));
      expect(applied.length).toBeGreaterThan(5);
      const [{ owner }] = await runtime.query(
        `SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'audit_events'`,
      );
      expect(owner).not.toBe((await runtime.query('SELECT current_user AS u'))[0].u);
      await auditLogFor(runtime, new SystemClock(), deriveAuditKeys(randomBytes(32))).record([entry(1)]);
      await expect(runtime.query('DELETE FROM audit_events')).rejects.toThrow(/permission denied/);
    } finally {
      await runtime.destroy();
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  });
});

describe('the runtime role (PostgreSQL)', () => {
  let db: TestDatabase;
  let runtime: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = await new DataSource(dataSourceOptions(db.runtimeUrl, 2)).initialize();
    await auditLogFor(runtime, new SystemClock(), deriveAuditKeys(randomBytes(32))).record([entry(1), entry(2)]);
  });
  afterAll(async () => {
    await runtime.destroy();
    await db.drop();
  });

  it('is neither superuser nor owner, and may not create roles or databases', async () => {
    const [me] = await runtime.query(
      `SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
         (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events') = current_user AS owner
       FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(me).toEqual({
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
      owner: false,
    });
  });

  it.each([
    ['UPDATE audit_events', `UPDATE audit_events SET actor = 'x' WHERE seq = 1`, /permission denied/],
    ['DELETE audit_events', 'DELETE FROM audit_events WHERE seq = 2', /permission denied/],
    ['TRUNCATE audit_events', 'TRUNCATE audit_events', /permission denied/],
    ['UPDATE audit_checkpoints', 'UPDATE audit_checkpoints SET seq = 1', /permission denied/],
    ['DELETE audit_checkpoints', 'DELETE FROM audit_checkpoints', /permission denied/],
    ['DELETE audit_verify_runs', 'DELETE FROM audit_verify_runs', /permission denied/],
    ['DELETE audit_chain_head', 'DELETE FROM audit_chain_head', /permission denied/],
    ['INSERT audit_chain_head', `INSERT INTO audit_chain_head VALUES (2, 0, repeat('0', 64))`, /permission denied/],
    ['SET session_replication_role', 'SET session_replication_role = replica', /permission denied/],
    ['ALTER TABLE … DISABLE TRIGGER', 'ALTER TABLE audit_events DISABLE TRIGGER ALL', /must be owner/],
    ['DROP TRIGGER', 'DROP TRIGGER "TRG_audit_events_append_only" ON audit_events', /must be owner/],
    ['DROP TABLE', 'DROP TABLE audit_events', /must be owner/],
    ['CREATE TABLE', 'CREATE TABLE mallory (id int)', /permission denied for schema public/],
    ['write the migrations table', 'DELETE FROM typeorm_migrations', /permission denied/],
  ])('is refused: %s', async (_, sql, error) => {
    await expect(runtime.query(sql)).rejects.toThrow(error);
  });

  it('is what boot expects; a superuser connection is warned about', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    await new RuntimeRoleCheck(new AuditRepository(runtime), logger).onApplicationBootstrap();
    expect(warnings).toEqual([]);
    const admin = await new DataSource(dataSourceOptions(db.url, 1)).initialize();
    try {
      await new RuntimeRoleCheck(new AuditRepository(admin), logger).onApplicationBootstrap();
    } finally {
      await admin.destroy();
    }
    expect(warnings).toEqual([[{ superuser: true, owner: true }, expect.stringContaining('keyshift_runtime')]]);
  });

  it('still does what the runtime needs: DML on the other tables', async () => {
    await runtime.transaction(async (m) => {
      await m.query(
        `INSERT INTO api_tokens (id, name, role, token_hash, created_by, created_at) VALUES (gen_random_uuid(), 'x', 'viewer', $1, 'test', now())`,
        [randomBytes(32).toString('hex')],
      );
      await m.query(`UPDATE api_tokens SET name = 'y' WHERE name = 'x'`);
      await m.query(`DELETE FROM api_tokens WHERE name = 'y'`);
    });
  });
});
