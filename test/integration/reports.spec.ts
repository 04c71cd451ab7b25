import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { get } from 'node:http';
import { AddressInfo } from 'node:net';
import { Phase, PhaseState } from '@keyshift/domain';
import { ReportTickHandler } from '@keyshift/features/reports/report-tick.handler';
import { canonicalize } from 'json-canonicalize';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { clientReaches, MigrationRig, startMigrationRig } from '../support/migration-rig';
import { EnvelopeCipher } from '@keyshift/crypto';
import { secretContext } from '@keyshift/features/clients/secret-context';
import { aClient } from '../support/factories';
import { waitFor } from '../support/wait-for';

const DAY = 86_400_000;

/**
 * HMAC-SHA-256 of RFC 8785 canonical JSON with the chain key (HKDF of the master key, as the pack's
 * hashRule states), computed here from scratch as a reviewer holding the key would, not with Keyshift's code.
 */
const reviewerHash = (masterKey: Buffer, e: Record<string, unknown>) =>
  createHmac('sha256', Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keyshift audit chain v1', 32)))
    .update(
      canonicalize({
        seq: e.seq,
        occurredAt: e.occurredAt,
        actor: e.actor,
        action: e.action,
        subjectType: e.subjectType,
        subjectId: e.subjectId,
        before: e.before,
        after: e.after,
        prevHash: e.prevHash,
      }),
    )
    .digest('hex');

/**
 * Audit reports over an estate a real campaign migrated at the real oidc-provider: the estate
 * report (JSON, CSV), the client evidence pack verified offline like a reviewer would, and the
 * worker-produced PDF and campaign pack.
 */
describe('audit reports over a migrated estate', () => {
  let rig: MigrationRig;
  let admin: { Authorization: string };
  const http = () => request(rig.api.getHttpServer());
  let done: { id: string; reg: Record<string, string> };
  let waiting: { id: string; reg: Record<string, string> };
  let campaignId: string;

  beforeAll(async () => {
    rig = await startMigrationRig();
    admin = { Authorization: `Bearer ${rig.config.adminToken}` };
    done = await rig.client({
      tags: ['reports'],
      owner: 'team-reports',
      target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place', cutover: 'automatic' },
    });
    // Not in the campaign: stays on its secret.
    waiting = await rig.client({
      tags: ['untouched'],
      owner: 'team-reports',
      secretIssuedAt: new Date(Date.now() - 200 * DAY),
    });
    campaignId = await rig.campaign('reports');
    await clientReaches(rig, done.id, Phase.Completed, PhaseState.Done);
  }, 120_000);
  afterAll(() => rig.close());

  /** Every secret of both clients: as registered, and the registration access token Keyshift holds now (rotated on each RFC 7592 PUT). */
  const secretsOf = async () => {
    const cipher = rig.worker.get(EnvelopeCipher);
    const out: string[] = [];
    for (const c of [done, waiting]) {
      out.push(c.reg.client_secret, c.reg.registration_access_token);
      const row = await rig.row(c.id);
      if (row.registrationAccessTokenCiphertext)
        out.push(
          cipher
            .decrypt(row.registrationAccessTokenCiphertext, secretContext.registrationAccessToken(c.id))
            .toString('utf8'),
        );
    }
    return out;
  };
  const noSecretsIn = async (text: string) => {
    for (const secret of await secretsOf()) expect(text).not.toContain(secret);
  };

  it('JSON: a summary on top and one row per client, with the revocation date and its evidence probe', async () => {
    const res = await http().get('/v1/reports/estate?owner=team-reports').set(admin).expect(200);
    await noSecretsIn(res.text);
    const { summary, clients } = res.body;
    expect(summary.totals).toMatchObject({
      clients: 2,
      onSharedSecret: 1,
      secretsRevoked: 1,
      keyAuthenticated: 1,
      senderConstrained: 1,
      completed: 1,
    });
    expect(summary.phases.map((p: { phase: string }) => p.phase)).toEqual([
      'vendor_check',
      'key_registration',
      'parallel_auth',
      'cutover',
      'secret_revocation',
      'sender_constraint',
      'completed',
    ]);
    expect(summary.secretsRemaining.at(-1).remaining).toBe(1);
    // The remaining secret is aged by the issue date the import gave, not by its import.
    expect(summary.secretAges).toContainEqual({ label: '180-365 days', fromDays: 180, count: 1 });
    expect(summary.controls.map((c: { reference: string }) => c.reference)).toEqual(
      expect.arrayContaining(['§2.5', '8.6.3', 'CC6.1']),
    );
    const row = clients.find((c: { id: string }) => c.id === done.id);
    const [revocationProbe] = await rig.ds.query(
      `SELECT id, outcome, error_code FROM probes WHERE client_row_id = $1 AND purpose = 'secret_revocation'`,
      [done.id],
    );
    expect(revocationProbe).toMatchObject({ outcome: 'rejected', error_code: 'invalid_client' });
    expect(row).toMatchObject({
      phase: 'completed',
      authMethod: { current: 'private_key_jwt' },
      secret: { status: 'revoked', evidenceProbeId: revocationProbe.id },
      senderConstraint: { bound: true },
      lastProbes: { dpop: { outcome: 'ok' } },
    });
    expect(row.keys).toEqual([expect.objectContaining({ state: 'active', alg: 'ES256', ageDays: 0 })]);
    expect(row.secret.revokedAt).not.toBeNull();
    expect(clients.find((c: { id: string }) => c.id === waiting.id)).toMatchObject({
      secret: { status: 'present', revokedAt: null, issuedAt: expect.stringMatching(/^\d{4}-/) },
      keys: [],
    });
  });

  it('an estate the filter leaves empty is a valid report of zeros', async () => {
    const res = await http().get('/v1/reports/estate?owner=nobody').set(admin).expect(200);
    expect(res.body.clients).toEqual([]);
    expect(Object.values(res.body.summary.totals).every((n) => n === 0)).toBe(true);
    expect(res.text).not.toMatch(/NaN|Infinity|undefined/);
    expect(res.body.summary.controls[0].observation).toContain('0 of 0 clients (0%)');
  });

  it('CSV: the client table with a header, filtered, formula cells neutralised', async () => {
    await rig.ds.query(`UPDATE clients SET state_reason = '=HYPERLINK("http://evil")' WHERE id = $1`, [waiting.id]);
    const res = await http().get('/v1/reports/estate?format=csv&owner=team-reports').set(admin).expect(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="keyshift-estate-\d{4}-\d\d-\d\d\.csv"/);
    await noSecretsIn(res.text);
    const rows = parse(res.text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.id === done.id)).toMatchObject({
      secret_status: 'revoked',
      sender_constrained: 'true',
      last_secret_probe: 'rejected:invalid_client',
    });
    expect(rows.find((r) => r.id === waiting.id)!.state_reason).toBe(`'=HYPERLINK("http://evil")`);
    const other = await http().get('/v1/reports/estate?format=csv&owner=nobody').set(admin).expect(200);
    expect(parse(other.text, { columns: true })).toHaveLength(0);
    const summary = await http().get('/v1/reports/estate?format=csv&section=summary').set(admin).expect(200);
    expect(summary.text).toContain('totals,secretsRevoked,');
  });

  it('a client evidence pack is a JWS that verifies offline against /.well-known/jwks.json, and names its probes', async () => {
    const res = await http().get(`/v1/clients/${done.id}/evidence`).set(admin).expect(200);
    expect(res.headers['content-type']).toContain('application/jose');
    const jws = res.text;
    const payloadText = Buffer.from(jws.split('.')[1], 'base64url').toString();
    await noSecretsIn(payloadText);
    expect(payloadText).not.toMatch(/"(d|p|q|dp|dq|qi|k)":/);
    const jwks = (await http().get('/.well-known/jwks.json').expect(200)).body;
    for (const k of jwks.keys) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k).not.toHaveProperty(m);
    expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'ES256', typ: 'keyshift-evidence+jws' });
    const { payload } = await compactVerify(jws, createLocalJWKSet(jwks));
    const pack = JSON.parse(Buffer.from(payload).toString());
    expect(pack).toMatchObject({ kind: 'keyshift.client_evidence', sub: done.id, client: { phase: 'completed' } });
    // Every event in the pack is the stored one: its hash recomputes; and they come in chain order.
    for (const e of pack.timeline) expect(reviewerHash(rig.config.crypto.masterKey, e)).toBe(e.hash);
    const seqs = pack.timeline.map((e: { seq: string }) => Number(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // Every transition that cites a probe names one the pack carries; revocation cites the refused one.
    const probes = new Map(pack.probes.map((p: { id: string }) => [p.id, p]));
    const cited = pack.timeline.filter((e: { evidenceProbeId: string | null }) => e.evidenceProbeId);
    expect(cited.length).toBeGreaterThanOrEqual(3);
    for (const e of cited) expect(probes.has(e.evidenceProbeId)).toBe(true);
    expect(probes.get(pack.client.secret.evidenceProbeId)).toMatchObject({
      outcome: 'rejected',
      errorCode: 'invalid_client',
    });
    expect(pack.chain.head.seq).toMatch(/^\d+$/);

    // A payload edited after signing does not verify.
    const [h, p, s] = jws.split('.');
    const forged = Buffer.from(Buffer.from(p, 'base64url').toString().replace('"completed"', '"cutover"')).toString(
      'base64url',
    );
    await expect(compactVerify(`${h}.${forged}.${s}`, createLocalJWKSet(jwks))).rejects.toThrow();
    // Its issue is in the audit log with the JWS's digest.
    const [issued] = await rig.ds.query(
      `SELECT actor, after FROM audit_events WHERE action = 'evidence.issued' AND subject_id = $1 ORDER BY seq DESC LIMIT 1`,
      [done.id],
    );
    expect(issued.after.sha256).toBe(createHash('sha256').update(jws).digest('hex'));
  });

  it('a rotated signing key stops signing but stays published: packs it signed still verify', async () => {
    const before = (await http().get(`/v1/clients/${done.id}/evidence`).set(admin).expect(200)).text;
    const operatorToken = (
      await http().post('/v1/api-tokens').set(admin).send({ name: 'reports-operator', role: 'operator' }).expect(201)
    ).body.token;
    await http()
      .post('/v1/signing-keys/rotate')
      .set({ Authorization: `Bearer ${operatorToken}` })
      .expect(403);
    const rotated = (await http().post('/v1/signing-keys/rotate').set(admin).expect(200)).body;
    expect(rotated.retiredKid).toBe(decodeProtectedHeader(before).kid);
    const after = (await http().get(`/v1/clients/${done.id}/evidence`).set(admin).expect(200)).text;
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
    const jwks = createLocalJWKSet((await http().get('/.well-known/jwks.json').expect(200)).body);
    await expect(compactVerify(before, jwks)).resolves.toBeDefined();
    await expect(compactVerify(after, jwks)).resolves.toBeDefined();
    const keys = await rig.ds.query(
      `SELECT kid, state, private_key_ciphertext IS NULL AS destroyed FROM signing_keys ORDER BY created_at`,
    );
    expect(keys).toEqual([
      { kid: rotated.retiredKid, state: 'retired', destroyed: true },
      { kid: rotated.kid, state: 'active', destroyed: false },
    ]);
  });

  it('the worker produces the PDF and the campaign pack; the content matches its recorded digest', async () => {
    const pdf = await http().get('/v1/reports/estate?format=pdf').set(admin).expect(202);
    expect(pdf.headers.location).toBe(`/v1/reports/${pdf.body.id}`);
    const pack = await http().post(`/v1/campaigns/${campaignId}/evidence`).set(admin).expect(202);
    for (const [id, magic] of [
      [pdf.body.id, '%PDF-'],
      [pack.body.id, 'eyJ'],
    ]) {
      const ready = await waitFor(
        async () => (await http().get(`/v1/reports/${id}`).set(admin)).body,
        (r) => r.status === 'ready' || r.status === 'failed',
        60_000,
      );
      expect(ready).toMatchObject({ status: 'ready', contentUrl: `/v1/reports/${id}/content` });
      const body = await http()
        .get(ready.contentUrl)
        .set(admin)
        .buffer(true)
        .parse((res, cb) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => cb(null, Buffer.concat(parts)));
        })
        .expect(200);
      const bytes = body.body as Buffer;
      expect(bytes.subarray(0, magic.length).toString()).toBe(magic);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(ready.sha256);
      expect(body.headers['repr-digest']).toBe(`sha-256=:${Buffer.from(ready.sha256, 'hex').toString('base64')}:`);
    }
    const jws = (await http().get(`/v1/reports/${pack.body.id}/content`).set(admin)).text;
    const { payload } = await compactVerify(jws, createLocalJWKSet((await http().get('/.well-known/jwks.json')).body));
    const campaignPack = JSON.parse(Buffer.from(payload).toString());
    await noSecretsIn(Buffer.from(payload).toString());
    expect(Buffer.from(payload).toString()).not.toMatch(/"(d|p|q|dp|dq|qi|k)":/);
    expect(campaignPack.members).toEqual([
      expect.objectContaining({
        id: done.id,
        phase: 'completed',
        secret: expect.objectContaining({ status: 'revoked' }),
      }),
    ]);
    expect(campaignPack.members[0].transitions.map((t: { to: { phase: string } }) => t.to?.phase)).toEqual(
      expect.arrayContaining(['key_registration', 'secret_revocation', 'completed']),
    );
    expect(campaignPack.campaignEvents.length).toBeGreaterThan(0);
  });

  it('the tick hands out reports whose job or worker was lost, passes by a live one, fails a spent one; expired ones go', async () => {
    // Rows as Redis loss and dead workers leave them: no job anywhere for any of them.
    const row = async (status: string, attempts: number) =>
      (
        await rig.ds.query(
          `INSERT INTO reports (id, kind, format, params, status, requested_by, attempts, created_at, started_at, expires_at)
           VALUES (gen_random_uuid(), 'estate', 'csv', $1, $2, 'test', $3, now() - interval '1 hour',
             CASE WHEN $2 = 'running' THEN now() - interval '1 hour' END, now() + interval '1 day') RETURNING id`,
          [{ owner: 'team-reports', probe: `${status}-${attempts}` }, status, attempts],
        )
      )[0].id as string;
    const lostJob = await row('queued', 0);
    const deadWorker = await row('running', 1);
    const live = await row('running', 1);
    const spent = await row('running', 3);
    const status = async (id: string) => (await http().get(`/v1/reports/${id}`).set(admin)).body;

    // A live render holds its row's lock: the tick must leave it be.
    const runner = rig.ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('SELECT id FROM reports WHERE id = $1 FOR UPDATE', [live]);
    await rig.worker.get(ReportTickHandler).handle({ tick: 0 });
    for (const id of [lostJob, deadWorker]) {
      await waitFor(
        () => status(id),
        (r) => r.status === 'ready',
        30_000,
      );
    }
    expect(await status(deadWorker)).toMatchObject({ status: 'ready' });
    expect((await rig.ds.query('SELECT attempts FROM reports WHERE id = $1', [deadWorker]))[0].attempts).toBe(2);
    expect(await status(spent)).toMatchObject({ status: 'failed', error: expect.stringContaining('3 attempts') });
    await runner.rollbackTransaction();
    await runner.release();
    expect(await status(live)).toMatchObject({ status: 'running' });

    await rig.ds.query(`UPDATE reports SET expires_at = now() - interval '1 second' WHERE id = $1`, [lostJob]);
    await rig.worker.get(ReportTickHandler).handle({ tick: 1 });
    expect(await rig.ds.query('SELECT 1 FROM report_chunks WHERE report_id = $1', [lostJob])).toEqual([]);
    await http().get(`/v1/reports/${lostJob}`).set(admin).expect(404);
  });

  it('asking again for a report on its way answers with the same report', async () => {
    const ask = () =>
      http()
        .post('/v1/reports')
        .set(admin)
        .send({ kind: 'estate', format: 'pdf', filter: { owner: 'nobody' } })
        .expect(202);
    const [first, second] = [(await ask()).body, (await ask()).body];
    expect(second.id).toBe(first.id);
    await waitFor(
      () => http().get(`/v1/reports/${first.id}`).set(admin),
      (r) => r.body.status === 'ready',
      30_000,
    );
    expect((await ask()).body.id).not.toBe(first.id);
  });

  it('a reader who hangs up mid-report gives its snapshot and connection back', async () => {
    // Enough rows that the stream is still running when the reader goes; blocked, so no worker takes them.
    await rig.ds.query(
      `INSERT INTO clients (id, authorization_server_id, client_id, auth_method, secret_status, target_auth_method,
         target_sender_constraint, target_strategy, owner, phase, state, version, created_at, updated_at)
       SELECT gen_random_uuid(), $1, 'bulk-' || i, 'client_secret_basic', 'present', 'private_key_jwt', 'none',
         'in_place', 'bulk', 'vendor_check', 'blocked', 1, now(), now() FROM generate_series(1, 20000) i`,
      [rig.serverId],
    );
    const { port } = rig.api.getHttpServer().address() as AddressInfo;
    // More abandoned reports than the API has connections (KEYSHIFT_DB_POOL_SIZE, 10).
    for (let i = 0; i < 12; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = get(
          { host: '127.0.0.1', port, path: '/v1/reports/estate?format=csv&owner=bulk', headers: admin },
          (res) => res.once('data', () => (req.destroy(), resolve())),
        );
        req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
      });
    }
    const open = () =>
      rig.ds.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE '%FROM clients c%'`,
      );
    await waitFor(open, ([r]) => r.n === 0, 10_000);
    const whole = await http().get('/v1/reports/estate?format=csv&owner=bulk').set(admin).expect(200);
    expect(parse(whole.text, { columns: true })).toHaveLength(20_000);
  });

  it('refuses bad report requests with a 400 naming the field', async () => {
    const bad = async (path: string, field: string, body?: object) => {
      const res = body ? await http().post(path).set(admin).send(body) : await http().get(path).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    };
    await bad('/v1/reports/estate?format=xlsx', 'format');
    await bad('/v1/reports/estate?phase=done', 'phase');
    await bad('/v1/reports/estate?authorizationServerId=x', 'authorizationServerId');
    await bad('/v1/reports', 'kind', { kind: 'everything' });
    await bad('/v1/reports', 'campaignId', { kind: 'campaign_evidence' });
    const future = { ...aClient(rig.serverId), secretIssuedAt: new Date(Date.now() + DAY).toISOString() };
    await bad('/v1/clients', 'secretIssuedAt', future);
    await bad('/v1/clients', 'secretIssuedAt', { ...future, secretIssuedAt: 'last tuesday' });
    await http().get('/v1/reports/estate').expect(401);
    await http().get(`/v1/clients/${done.id}/evidence`).expect(401);
  });
});
