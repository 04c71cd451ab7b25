import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@keyshift/config';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Phase, PhaseState } from '@keyshift/domain';
import { secretContext } from '@keyshift/features/clients/secret-context';
import fc from 'fast-check';
import { Client } from 'pg';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { freePort } from '../support/keyed-client';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';

/**
 * Where a kill lands. `before_request`: the exchange's intent is committed and the request has not
 * left (Keyshift's opening of the token is being audited). `after_answer`: the server's answer
 * (rotated token sealed) is committed in the journal, and the transaction applying it to the client
 * is under way. `random`: any moment of the worker's other work (probes, transitions, reads, journal
 * and apply commits). `in_flight`: the server took the request and answered, and the answer is not
 * yet journalled: the window no client can close, tested on its own below.
 */
type KillPoint = 'before_request' | 'after_answer' | 'random';

/**
 * Test-only hooks, installed in this file's private database by the test (never in migrations or
 * Keyshift's code): while a gate row is present, a trigger holds the worker's transaction at that
 * point, so a SIGKILL lands exactly there. `request` holds every RFC 7592 update and delete just
 * before it leaves (and every RFC 7591 registration before its intent commits), so no request is
 * on the wire when the worker is killed; `apply` holds the transaction that applies a journalled
 * answer; `answer` holds the commit of an answer itself (the protocol's window).
 */
const HOOKS = `
  CREATE TABLE ks_test_gate (point text PRIMARY KEY);
  GRANT SELECT ON ks_test_gate TO PUBLIC;
  CREATE FUNCTION ks_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE waited int := 0;
  BEGIN
    WHILE waited < 200 AND EXISTS (SELECT 1 FROM ks_test_gate WHERE point = TG_ARGV[0]) LOOP
      PERFORM pg_sleep(0.05);
      waited := waited + 1;
    END LOOP;
    RETURN NEW;
  END $$;
  CREATE TRIGGER ks_test_hold_request BEFORE INSERT ON audit_events FOR EACH ROW
    WHEN (NEW.action = 'client.secret_accessed' AND NEW.after->>'purpose' IN ('RFC 7592 update', 'RFC 7592 delete'))
    EXECUTE FUNCTION ks_test_hold('request');
  CREATE TRIGGER ks_test_hold_register BEFORE INSERT ON registration_exchanges FOR EACH ROW
    WHEN (NEW.operation = 'register') EXECUTE FUNCTION ks_test_hold('request');
  CREATE TRIGGER ks_test_hold_apply BEFORE UPDATE ON registration_exchanges FOR EACH ROW
    WHEN (OLD.status = 'answered' AND NEW.status = 'applied') EXECUTE FUNCTION ks_test_hold('apply');
  CREATE TRIGGER ks_test_hold_answer BEFORE UPDATE ON registration_exchanges FOR EACH ROW
    WHEN (OLD.status = 'intent' AND NEW.status = 'answered') EXECUTE FUNCTION ks_test_hold('answer');
`;

/** The held statements, as pg_stat_activity shows them (RegistrationJournal's and AuditLog's SQL). */
const BEFORE_REQUEST = '%INSERT INTO audit_events%';
const APPLYING = '%UPDATE registration_exchanges SET status = $2%';
const ANSWERING = "%UPDATE registration_exchanges SET status = 'answered'%";
const REGISTERING = '%INSERT INTO registration_exchanges%';

/**
 * Issue 12: registration access tokens are never lost. node-oidc-provider rotates the token on every
 * RFC 7592 PUT and the old one dies at once; the worker (a child process) is SIGKILLed at least 20
 * times around those updates (and the successors' RFC 7591 registrations), at points chosen by a
 * seeded fast-check schedule (printed, replayable with KEYSHIFT_KILL_SEED). Afterwards every
 * client has completed and the token Keyshift holds for it works at the server (an RFC 7592 GET).
 */
describe('registration access tokens under SIGKILL', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let api: NestFastifyApplication;
  let env: Record<string, string>;
  let admin: Client;
  let cipher: EnvelopeCipher;
  const worker = new WorkerProcess();
  const startWorker = () => worker.start(env);
  const killWorker = () => worker.kill();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const arm = (...points: string[]) =>
    admin.query(`INSERT INTO ks_test_gate (point) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [points]);
  const disarm = () => admin.query(`DELETE FROM ks_test_gate`);
  /**
   * After a kill: the held statements die with their worker (as they would have, had it been killed
   * there without a hold), then the gates open. An autocommit statement left to finish would commit.
   */
  const releaseHeld = async () => {
    // By the statement, not by `wait_event = 'PgSleep'`: between two sleeps the held backend is
    // checking the gate and shows no wait event, and one missed there would commit once disarmed.
    const heldStatements = `datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
      AND (query ILIKE $1 OR query ILIKE $2 OR query ILIKE $3 OR query ILIKE $4)`;
    const patterns = [BEFORE_REQUEST, APPLYING, ANSWERING, REGISTERING];
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${heldStatements}`, patterns);
    await waitFor(
      async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${heldStatements}`, patterns)).rows[0]
          .n as number,
      (n) => n === 0,
      10_000,
    );
    await disarm();
  };
  /** Whether a worker statement matching `pattern` is held by a trigger (it sleeps in pg_sleep). */
  const held = async (pattern: string) =>
    (
      await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event = 'PgSleep' AND query ILIKE $1`,
        [pattern],
      )
    ).rows[0].n > 0;
  const heldWithin = async (pattern: string, ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await held(pattern)) return true;
      await sleep(10);
    }
    return false;
  };

  beforeAll(async () => {
    const port = await freePort();
    [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer(['--admin-reissue'])]);
    env = testEnv(db, {
      KEYSHIFT_PUBLIC_URL: `http://127.0.0.1:${port}`,
      KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
      KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
      KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
      KEYSHIFT_LEASE_SECONDS: '2',
      KEYSHIFT_SOAK_MIN_SUCCESSES: '1',
      KEYSHIFT_SOAK_MIN_SECONDS: '0',
      KEYSHIFT_SOAK_INTERVAL_SECONDS: '1',
      KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '1',
      KEYSHIFT_PHASE_MAX_ATTEMPTS: '30',
      KEYSHIFT_PROBE_SWEEP_INTERVAL_SECONDS: '3600',
      KEYSHIFT_KEY_ROTATION_TICK_SECONDS: '3600',
    });
    cipher = new EnvelopeCipher(Buffer.from(env.KEYSHIFT_MASTER_KEY, 'base64'));
    api = await createApiApp(loadConfig(env));
    await api.listen(port, '127.0.0.1');
    admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(HOOKS);
  }, 60_000);
  afterAll(async () => {
    await disarm().catch(() => undefined);
    await killWorker();
    await admin?.end();
    await api?.close();
    await Promise.all([as?.stop(), db?.drop()]);
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api.inject({
      method: method as 'GET',
      url: path,
      headers: {
        authorization: `Bearer ${env.KEYSHIFT_ADMIN_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      payload: body as never,
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  let serverId: string;
  const importClients = async (tag: string, shapes: { strategy: string; senderConstraint: string }[]) => {
    const rows = [];
    for (const shape of shapes) {
      const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
      rows.push({
        authorizationServerId: serverId,
        clientId: reg.client_id,
        authMethod: 'client_secret_basic',
        clientSecret: reg.client_secret,
        registrationAccessToken: reg.registration_access_token,
        registrationClientUri: reg.registration_client_uri,
        target: {
          authMethod: 'private_key_jwt',
          cutover: shape.strategy === 'in_place' ? 'automatic' : 'confirm',
          ...shape,
        },
        tags: [tag],
      });
    }
    await call('POST', '/v1/clients/import', rows);
    return call('POST', '/v1/campaigns', {
      name: tag,
      selector: { tags: [tag] },
      canarySize: 0,
      waveSize: shapes.length,
      maxFailureRate: 1,
      serverBudgetPerSecond: 200,
    }) as Promise<{ id: string }>;
  };

  /** Whether the token Keyshift holds for a client's live registration works at the server (RFC 7592 GET). */
  const tokenWorks = async (id: string): Promise<{ clientId: string; status: number }> => {
    const [row] = (
      await admin.query(
        `SELECT client_id, registration_client_uri, registration_access_token_ciphertext AS original,
                successor_client_id, successor_registration_client_uri, successor_registration_access_token_ciphertext AS successor
         FROM clients WHERE id = $1`,
        [id],
      )
    ).rows as {
      client_id: string;
      registration_client_uri: string;
      original: Buffer | null;
      successor_client_id: string | null;
      successor_registration_client_uri: string | null;
      successor: Buffer | null;
    }[];
    const [uri, sealed, context, clientId] = row.successor_client_id
      ? [
          row.successor_registration_client_uri!,
          row.successor,
          secretContext.successorRegistrationAccessToken(id),
          row.successor_client_id,
        ]
      : [row.registration_client_uri, row.original, secretContext.registrationAccessToken(id), row.client_id];
    if (!sealed) return { clientId, status: 0 };
    const token = cipher.decrypt(sealed, context).toString('utf8');
    const res = await fetch(uri, { headers: { authorization: `Bearer ${token}` } });
    return { clientId, status: res.status };
  };

  it('kills the worker at least 20 times around registration updates and loses no token', async () => {
    const server = await call('POST', '/v1/authorization-servers', {
      name: 'kills',
      issuer: as.issuer,
      connector: { type: 'rfc7592' },
      probeRatePerSecond: 200,
    });
    serverId = server.id;
    await call('POST', `/v1/authorization-servers/${serverId}/discover`);
    await waitFor(
      () => call('GET', `/v1/authorization-servers/${serverId}`),
      (s) => s.discoveryStatus === 'ok',
    );
    // In place with DPoP: three RFC 7592 PUTs each (jwks_uri, the method switch, DPoP). Successors:
    // an RFC 7591 registration, a PUT for DPoP, and the original's DELETE.
    const shapes = Array.from({ length: 12 }, (_, i) => ({
      strategy: i % 4 === 3 ? 'successor' : 'in_place',
      senderConstraint: 'dpop',
    }));
    const campaign = await importClients('kills', shapes);

    const seed = Number(process.env.KEYSHIFT_KILL_SEED ?? 20261202);
    const schedule = fc.sample(
      fc.array(
        fc.record({
          point: fc.constantFrom<KillPoint>('before_request', 'after_answer', 'after_answer', 'random'),
          // How long the fresh worker runs before the kill is armed, and (random) how long after arming it lands.
          bootMs: fc.integer({ min: 500, max: 1_000 }),
          randomMs: fc.integer({ min: 50, max: 1_200 }),
        }),
        { minLength: 20, maxLength: 20 },
      ),
      { seed, numRuns: 1 },
    )[0];
    process.stdout.write(`kill schedule (seed ${seed}): ${JSON.stringify(schedule)}\n`);

    // Successors wait for an operator at cutover (the workload moves to a new client_id): one confirms.
    let confirming = true;
    const confirmer = (async () => {
      while (confirming) {
        const waiting = (
          await admin.query(
            `SELECT id FROM clients WHERE target_strategy = 'successor' AND phase = 'cutover' AND cutover_confirmed_at IS NULL
               AND state = 'waiting'`,
          )
        ).rows as { id: string }[];
        for (const { id } of waiting)
          await call('POST', `/v1/clients/${id}/cutover/confirm`, { note: 'workload moved' }).catch(() => undefined);
        await sleep(300);
      }
    })();

    const kills: Record<KillPoint, number> = { before_request: 0, after_answer: 0, random: 0 };
    startWorker();
    for (const { point, bootMs, randomMs } of schedule) {
      await sleep(bootMs);
      let landed: KillPoint = 'random';
      if (point === 'random') {
        await arm('request');
        await sleep(randomMs);
      } else if (point === 'before_request') {
        await arm('request');
        if (await heldWithin(BEFORE_REQUEST, 5_000)) landed = 'before_request';
      } else {
        await arm('apply');
        if (await heldWithin(APPLYING, 5_000)) landed = 'after_answer';
        await arm('request');
      }
      // With new requests held, anything already on the wire has been answered and journalled by now.
      await sleep(250);
      await killWorker();
      kills[landed]++;
      await releaseHeld();
      if (process.env.KEYSHIFT_KILL_TRACE) {
        const phases = (
          await admin.query(
            `SELECT phase || '/' || state AS p, count(*)::int AS n, max(state_reason) AS r FROM clients GROUP BY 1`,
          )
        ).rows;
        const ex = (
          await admin.query(
            `SELECT status, count(*)::int AS n, max(resolution) AS r FROM registration_exchanges GROUP BY 1`,
          )
        ).rows;
        process.stdout.write(`${JSON.stringify(ex)} ${worker.errors.slice(-600)}\n`);
        process.stdout.write(`${new Date().toISOString()} ${point} -> ${landed} ${JSON.stringify(phases)}\n`);
      }
      startWorker();
    }
    const total = kills.before_request + kills.after_answer + kills.random;

    const finished = await waitFor(
      () => call('GET', `/v1/campaigns/${campaign.id}`),
      (c) => c.status !== 'running',
      60_000,
    );
    confirming = false;
    await confirmer;
    const clients = (
      await admin.query(`SELECT id, client_id, phase, state, state_reason FROM clients WHERE $1 = ANY(tags)`, ['kills'])
    ).rows as { id: string; client_id: string; phase: string; state: string; state_reason: string | null }[];
    const journal = (
      await admin.query(
        `SELECT status, operation, coalesce(resolution, '') AS resolution, count(*)::int AS n
         FROM registration_exchanges GROUP BY 1, 2, 3 ORDER BY 1, 2`,
      )
    ).rows as { status: string; operation: string; resolution: string; n: number }[];
    const tokens = await Promise.all(clients.map((c) => tokenWorks(c.id)));
    const lost = tokens.filter((t) => t.status !== 200);
    process.stdout.write(
      `kills: ${total} (${JSON.stringify(kills)}); tokens lost: ${lost.length} of ${tokens.length}; journal: ${JSON.stringify(journal)}\n`,
    );
    const unfinished = clients.filter((c) => c.state !== PhaseState.Done);
    if (finished.status !== 'completed' || lost.length || unfinished.length) {
      process.stdout.write(
        `unfinished: ${JSON.stringify(unfinished)}\nworker stderr:\n${worker.errors.slice(-4000)}\n`,
      );
    }

    expect(total).toBeGreaterThanOrEqual(20);
    // The kills landed where they were meant to, not only in between.
    expect(kills.after_answer).toBeGreaterThanOrEqual(5);
    expect(kills.before_request).toBeGreaterThanOrEqual(2);
    expect(lost).toEqual([]);
    expect(finished).toMatchObject({ status: 'completed', members: shapes.length });
    for (const c of clients) expect(c).toMatchObject({ phase: Phase.Completed, state: PhaseState.Done });
    // Every interrupted exchange was settled: answers adopted, unsent requests abandoned, none lost.
    expect(journal.filter((j) => ['intent', 'answered', 'lost'].includes(j.status))).toEqual([]);
    expect(journal).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ status: 'applied', resolution: 'recovered after an interrupted worker' }),
        expect.objectContaining({ status: 'abandoned' }),
      ]),
    );
  }, 170_000);

  it('the one window no client can close: an answer killed before it reached the journal blocks the client with the reason', async () => {
    await killWorker();
    const campaign = await importClients('window', [{ strategy: 'in_place', senderConstraint: 'none' }]);
    const [{ id }] = (await admin.query(`SELECT id FROM clients WHERE 'window' = ANY(tags)`)).rows as { id: string }[];
    // The server takes the PUT and rotates the token; the worker dies before the answer's commit.
    await arm('answer');
    startWorker();
    expect(await heldWithin(ANSWERING, 20_000)).toBe(true);
    await killWorker();
    await releaseHeld();
    startWorker();

    const blocked = await waitFor(
      () => admin.query(`SELECT phase, state, state_reason FROM clients WHERE id = $1`, [id]).then((r) => r.rows[0]),
      (c) => c.state === PhaseState.Blocked,
      30_000,
    );
    expect(blocked).toMatchObject({ phase: Phase.KeyRegistration, state: PhaseState.Blocked });
    // Never silently stuck: what happened, when, and what a person must do.
    expect(blocked.state_reason).toMatch(/interrupted before its answer was recorded/);
    expect(blocked.state_reason).toMatch(/must issue a new registration access token/);
    expect(blocked.state_reason).not.toMatch(/Bearer|registration_access_token"/);
    const [exchange] = (
      await admin.query(
        `SELECT status, answered_at, registration_access_token_ciphertext FROM registration_exchanges WHERE client_row_id = $1`,
        [id],
      )
    ).rows;
    expect(exchange).toMatchObject({ status: 'lost', answered_at: null, registration_access_token_ciphertext: null });
    expect((await tokenWorks(id)).status).toBe(401);

    // The way out the reason names: the server's administrator issues a new token, an operator
    // stores it (sealed, audited without it) and resumes the client, which then goes on by itself.
    const [{ client_id: clientId }] = (await admin.query(`SELECT client_id FROM clients WHERE id = $1`, [id])).rows;
    const reissued = await as.reissueRegistrationAccessToken(clientId);
    const replaced = await api.inject({
      method: 'PUT',
      url: `/v1/clients/${id}/registration-access-token`,
      headers: { authorization: `Bearer ${env.KEYSHIFT_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: { registrationAccessToken: reissued, note: 'reissued by the IdP team' },
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.body).not.toContain(reissued);
    expect((await tokenWorks(id)).status).toBe(200);
    const [event] = (
      await admin.query(
        `SELECT after::text AS payload FROM audit_events WHERE action = 'client.registration_access_token_replaced' AND subject_id = $1`,
        [id],
      )
    ).rows;
    expect(event.payload).toContain('reissued by the IdP team');
    expect(event.payload).not.toContain(reissued);
    await call('POST', `/v1/clients/${id}/resume`, {});
    const finished = await waitFor(
      () => call('GET', `/v1/campaigns/${campaign.id}`) as Promise<{ status: string }>,
      (c) => c.status === 'completed',
      60_000,
    );
    expect(finished.status).toBe('completed');
    expect((await tokenWorks(id)).status).toBe(200);
  }, 120_000);
});
