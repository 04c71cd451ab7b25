import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';
import { waitFor } from '../support/wait-for';

describe('failed authentication is rate-limited per client IP', () => {
  let api: TestApi;
  let base: { v4: string; v6: string };

  beforeAll(async () => {
    api = await startTestApi({ KEYSHIFT_AUTH_FAILURES_PER_IP: '5', KEYSHIFT_AUTH_FAILURE_WINDOW_SECONDS: '3' });
    // Listening on both stacks gives two client addresses on one machine: 127.0.0.1 and ::1.
    await api.app.listen(0, '::');
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    base = { v4: `http://127.0.0.1:${port}`, v6: `http://[::1]:${port}` };
  });
  afterAll(() => api.close());

  const get = (from: 'v4' | 'v6', token?: string) =>
    fetch(`${base[from]}/v1/clients`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers 401 up to the limit, then 429 with Retry-After, even for a good token, until the window ends', async () => {
    for (let i = 0; i < 5; i++) expect((await get('v4', `ks_guess-${i}`)).status).toBe(401);

    const limited = await get('v4', 'ks_guess-6');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(await limited.json()).toEqual({
      code: 'rate_limited',
      message: expect.stringContaining('too many failed authentications'),
      details: { retryAfterSeconds: retryAfter },
    });
    // A good token from the blocked address is refused too: telling it from a guess needs the
    // lookup the limit is there to stop. (Decided and documented in failed-auth-limiter.ts.)
    expect((await get('v4', api.adminToken)).status).toBe(429);
    // No token at all costs no lookup and is not counted: still a plain 401.
    expect((await get('v4')).status).toBe(401);
    // Another address is not held back by this one's failures.
    expect((await get('v6', api.adminToken)).status).toBe(200);
    expect((await get('v6', 'ks_guess-v6')).status).toBe(401);

    // Once the window has passed, the good token works again and a bad one is a 401 again.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    expect((await get('v4', api.adminToken)).status).toBe(200);
    expect((await get('v4', 'ks_guess-after')).status).toBe(401);
  });
});

describe('behind a trusted proxy, the caller is the address the proxy forwarded', () => {
  const run = async (env: Record<string, string>, forwardedFor: string[]) => {
    const api = await startTestApi({
      KEYSHIFT_AUTH_FAILURES_PER_IP: '2',
      KEYSHIFT_AUTH_FAILURE_WINDOW_SECONDS: '30',
      ...env,
    });
    try {
      const statuses: number[] = [];
      for (const [i, xff] of forwardedFor.entries()) {
        const res = await api
          .http()
          .get('/v1/clients')
          .set({ authorization: `Bearer ks_guess-${i}`, 'x-forwarded-for': xff });
        statuses.push(res.status);
      }
      return statuses;
    } finally {
      await api.close();
    }
  };
  const callers = ['198.51.100.1', '198.51.100.1', '198.51.100.2', '198.51.100.2', '198.51.100.3'];

  it('counts each forwarded caller on its own when the proxy is trusted', async () => {
    expect(await run({ KEYSHIFT_TRUST_PROXY: '127.0.0.1,::1,::ffff:127.0.0.1' }, callers)).toEqual([
      401, 401, 401, 401, 401,
    ]);
  });

  it('ignores X-Forwarded-For from an untrusted hop, so a guesser cannot pick a fresh address per request', async () => {
    expect(await run({}, callers)).toEqual([401, 401, 429, 429, 429]);
  });
});

describe('concurrent imports are bounded per token and in all', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let serverId: string;
  const operators: { Authorization: string }[] = [];
  let locker: Client;
  /** Its own connection: pg_stat_activity is a snapshot per transaction, and the locker's stays open. */
  let watcher: Client;

  beforeAll(async () => {
    api = await startTestApi({ KEYSHIFT_IMPORT_CONCURRENCY_PER_TOKEN: '1', KEYSHIFT_IMPORT_CONCURRENCY: '2' });
    admin = api.as(api.adminToken);
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
    for (const name of ['ops-a', 'ops-b', 'ops-c']) {
      const created = await api.http().post('/v1/api-tokens').set(admin).send({ name, role: 'operator' });
      operators.push(api.as(created.body.token));
    }
    locker = new Client({ connectionString: api.db.url });
    watcher = new Client({ connectionString: api.db.url });
    await Promise.all([locker.connect(), watcher.connect()]);
  });
  afterAll(async () => {
    await Promise.all([locker.end(), watcher.end()]);
    await api.close();
  });

  const importAs = (who: { Authorization: string }) =>
    api
      .http()
      .post('/v1/clients/import')
      .set(who)
      .send([aClient(serverId)]);
  /** Imports stuck behind the test's table lock, i.e. running and holding their slot. */
  const waitingOnLock = async () =>
    Number(
      (
        await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      ).rows[0].n,
    );

  it('refuses one import too many with 429 and Retry-After, and gives the slots back when imports end', async () => {
    // Hold imports in flight: they wait on this lock at their first write.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE clients IN EXCLUSIVE MODE');
    const first = importAs(operators[0]).then((r) => r);
    expect(await waitFor(waitingOnLock, (n) => n === 1)).toBe(1);

    const sameToken = await importAs(operators[0]);
    expect(sameToken.status).toBe(429);
    expect(sameToken.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(sameToken.body).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('imports') });

    const otherToken = importAs(operators[1]).then((r) => r);
    expect(await waitFor(waitingOnLock, (n) => n === 2)).toBe(2);
    // The process-wide cap (2) is reached: a third token is refused too.
    expect((await importAs(operators[2])).status).toBe(429);

    await locker.query('COMMIT');
    expect((await first).status).toBe(200);
    expect((await otherToken).status).toBe(200);
    // Capacity is back: the same token imports again.
    expect((await importAs(operators[0])).status).toBe(200);
  });

  it('gives the slot back when an import fails', async () => {
    const refused = await api.http().post('/v1/clients/import').set(operators[0]).send({ not: 'an array' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect((await importAs(operators[0])).status).toBe(200);
  });

  it('gives the slot back when the caller goes away mid-import, once the import has finished', async () => {
    await api.app.listen(0, '127.0.0.1');
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE clients IN EXCLUSIVE MODE');
    const abort = new AbortController();
    const aborted = fetch(`http://127.0.0.1:${port}/v1/clients/import`, {
      method: 'POST',
      headers: { ...operators[0], 'content-type': 'application/json' },
      body: JSON.stringify([aClient(serverId)]),
      signal: abort.signal,
    }).catch((error: Error) => error.name);
    expect(await waitFor(waitingOnLock, (n) => n === 1)).toBe(1);
    abort.abort();
    expect(await aborted).toBe('AbortError');
    // Still running (waiting on the lock) after its caller left: its slot stays taken...
    expect((await importAs(operators[0])).status).toBe(429);
    await locker.query('COMMIT');
    // ...and comes back once it has finished.
    await waitFor(
      async () => (await importAs(operators[0])).status,
      (status) => status === 200,
    );
  });
});
