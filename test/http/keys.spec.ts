import { createPublicKey } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose';
import { KeyRotationSteps } from '@keyshift/features/keys/key-rotation-steps';
import { JwksCache } from '@keyshift/features/keys/jwks-cache';
import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';
import { waitFor } from '../support/wait-for';

describe('keys and the public JWKS over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let operator: { Authorization: string };
  let serverId: string;

  beforeAll(async () => {
    api = await startTestApi({ KEYSHIFT_JWKS_MAX_AGE_SECONDS: '120' });
    admin = api.as(api.adminToken);
    operator = api.as(
      (await api.http().post('/v1/api-tokens').set(admin).send({ name: 'ops', role: 'operator' })).body.token,
    );
    serverId = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body.id;
  });
  afterAll(() => api.close());

  const newClient = async () =>
    (await api.http().post('/v1/clients').set(operator).send(aClient(serverId))).body.id as string;
  const count = async (sql: string, params: unknown[] = []) =>
    (await api.app.get(DataSource).query(sql, params))[0].n as number;
  /** A client with a managed pending key: rotation started over HTTP, its create step run here (no worker). */
  async function clientWithKey(alg = 'ES256') {
    const id = await newClient();
    const rotation = await api.http().post(`/v1/clients/${id}/keys/rotate`).set(operator).send({ alg });
    expect(rotation.status).toBe(202);
    await api.app.get(KeyRotationSteps).run(rotation.body.id);
    const listing = (await api.http().get(`/v1/clients/${id}/keys`).set(operator)).body;
    const path = new URL(listing.jwksUri).pathname;
    await waitFor(
      () => api.http().get(path),
      (r) => r.status === 200,
    );
    return { id, listing, path, key: listing.keys[0] };
  }

  it('serves a JWKS with public members only, Cache-Control, a strong ETag and 304, without a token', async () => {
    const { path, key } = await clientWithKey('PS256');
    const res = await api.http().get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.headers['cache-control']).toBe('public, max-age=120');
    expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const { keys } = JSON.parse(res.text);
    expect(keys).toEqual([{ kty: 'RSA', n: expect.any(String), e: 'AQAB', kid: key.kid, alg: 'PS256', use: 'sig' }]);
    const again = await api.http().get(path).set('If-None-Match', res.headers.etag);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect((await api.http().get(path).set('If-None-Match', '"stale"')).status).toBe(200);
    const head = await api.http().head(path);
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ etag: res.headers.etag, 'content-length': String(res.text.length) });
  });

  it('keeps serving through overlapping full reloads of the JWKS cache (as after Redis reconnects)', async () => {
    const { path, key } = await clientWithKey();
    const cache = api.app.get(JwksCache);
    await Promise.all([cache.reloadAll(), cache.reloadAll(), cache.reloadAll()]);
    const res = await api.http().get(path);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).keys[0].kid).toBe(key.kid);
  });

  it('answers 404 for unknown or malformed JWKS ids', async () => {
    expect((await api.http().get('/jwks/AAAAAAAAAAAAAAAAAAAAAA.json')).status).toBe(404);
    expect((await api.http().get('/jwks/../etc.json')).status).toBe(404);
  });

  it('never shows private key material in the API, and refuses a second rotation while one runs', async () => {
    const { id, listing } = await clientWithKey();
    expect(JSON.stringify(listing)).not.toMatch(/"d"|ciphertext|privateKey/);
    expect(listing.rotation).toMatchObject({ step: 'publish', status: 'running' });
    const second = await api.http().post(`/v1/clients/${id}/keys/rotate`).set(operator).send({});
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/already in progress \(step publish/);
  });

  it.each([
    [{ alg: 'HS256' }, 'alg'],
    [{ alg: 'RS256', modulusLength: 1024 }, 'modulusLength'],
    [{ alg: 'ES256', modulusLength: 3072 }, 'modulusLength'],
    [{ keyId: 'nope' }, 'keyId'],
  ])('refuses rotate %j with 400 naming %s', async (body, field) => {
    const id = await newClient();
    const res = await api.http().post(`/v1/clients/${id}/keys/rotate`).set(operator).send(body);
    expect(res.status).toBe(400);
    expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    expect(await count('SELECT count(*)::int AS n FROM key_rotations WHERE client_row_id = $1', [id])).toBe(0);
  });

  it('exports a private key to admins only, audited, and it matches the published key', async () => {
    const { id, key } = await clientWithKey();
    const url = `/v1/clients/${id}/keys/${key.id}/export`;
    expect((await api.http().post(url).set(operator).send({ format: 'pem' })).status).toBe(403);
    const pem = await api.http().post(url).set(admin).send({ format: 'pem' });
    expect(pem.status).toBe(200);
    expect(pem.headers['cache-control']).toBe('no-store');
    expect(pem.body.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const derived = createPublicKey(pem.body.privateKey).export({ format: 'jwk' });
    expect(derived).toMatchObject({ x: key.publicJwk.x, y: key.publicJwk.y });
    const events = await api.http().get(`/v1/audit/events?subjectId=${id}&action=client_key.exported`).set(admin);
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({
      actor: 'api-token:bootstrap-admin',
      after: { keyId: key.id, format: 'pem' },
    });
    expect(JSON.stringify(events.body)).not.toContain('PRIVATE KEY');
  });

  describe('bring your own key', () => {
    async function signedUpload(clientId: string, jwkOverride?: Record<string, unknown>) {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const challenge = (await api.http().post(`/v1/clients/${clientId}/keys/challenges`).set(operator)).body;
      const proof = await new CompactSign(Buffer.from(JSON.stringify({ nonce: challenge.nonce })))
        .setProtectedHeader({ alg: 'ES256' })
        .sign(privateKey);
      return {
        challengeId: challenge.challengeId,
        alg: 'ES256',
        jwk: jwkOverride ?? (await exportJWK(publicKey)),
        proof,
        privateJwk: await exportJWK(privateKey),
      };
    }

    it('refuses a key with private members with a 400 saying so, storing nothing', async () => {
      const id = await newClient();
      const upload = await signedUpload(id);
      const res = await api
        .http()
        .post(`/v1/clients/${id}/keys`)
        .set(admin)
        .send({ ...upload, jwk: upload.privateJwk, privateJwk: undefined });
      expect(res.status).toBe(400);
      expect(res.body.details.fields).toEqual([
        { field: 'jwk', message: expect.stringContaining('private key members (d)') },
      ]);
      expect(JSON.stringify(res.body)).not.toContain(String(upload.privateJwk.d));
      expect(await count('SELECT count(*)::int AS n FROM client_keys WHERE client_row_id = $1', [id])).toBe(0);
      expect(await count(`SELECT count(*)::int AS n FROM clients WHERE id = $1 AND jwks_id IS NOT NULL`, [id])).toBe(0);
    });

    it('registers a proven public key as pending and publishes it (admin only); a challenge works once', async () => {
      const id = await newClient();
      const { privateJwk, ...upload } = await signedUpload(id);
      expect((await api.http().post(`/v1/clients/${id}/keys`).set(operator).send(upload)).status).toBe(403);
      const created = await api.http().post(`/v1/clients/${id}/keys`).set(admin).send(upload);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ origin: 'byok', state: 'pending', alg: 'ES256' });
      const replay = await api.http().post(`/v1/clients/${id}/keys`).set(admin).send(upload);
      expect(replay.status).toBe(400);
      expect(replay.body.details.fields[0]).toMatchObject({ field: 'challengeId' });
      const listing = (await api.http().get(`/v1/clients/${id}/keys`).set(operator)).body;
      const served = await waitFor(
        () => api.http().get(new URL(listing.jwksUri).pathname),
        (r) => r.status === 200,
      );
      expect(JSON.parse(served.text).keys.map((k: { kid: string }) => k.kid)).toEqual([created.body.kid]);
      // The same key for another client, properly proven: kids are never reused.
      const other = await newClient();
      const challenge = (await api.http().post(`/v1/clients/${other}/keys/challenges`).set(operator)).body;
      const proof = await new CompactSign(Buffer.from(JSON.stringify({ nonce: challenge.nonce })))
        .setProtectedHeader({ alg: 'ES256' })
        .sign(await importJWK(privateJwk, 'ES256'));
      const dup = await api
        .http()
        .post(`/v1/clients/${other}/keys`)
        .set(admin)
        .send({ ...upload, challengeId: challenge.challengeId, proof });
      expect(dup.status).toBe(409);
      expect(dup.body.message).toMatch(/is already registered/);
    });

    it('refuses a proof signed by another key', async () => {
      const id = await newClient();
      const { privateJwk: _p, ...upload } = await signedUpload(id);
      const stranger = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
      const res = await api
        .http()
        .post(`/v1/clients/${id}/keys`)
        .set(admin)
        .send({ ...upload, jwk: stranger });
      expect(res.status).toBe(400);
      expect(res.body.details.fields[0]).toMatchObject({ field: 'proof' });
    });
  });

  it('sets rotation policies per client and per server, naming a bad window', async () => {
    const id = await newClient();
    const bad = await api
      .http()
      .put(`/v1/clients/${id}/rotation-policy`)
      .set(operator)
      .send({ periodDays: 30, window: 'nightly' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.fields).toEqual([{ field: 'window', message: expect.stringContaining('five-field') }]);
    const ok = await api
      .http()
      .put(`/v1/clients/${id}/rotation-policy`)
      .set(operator)
      .send({ periodDays: 30, window: '* 2-4 * * 1-5', overlapSeconds: 900 });
    expect(ok.status).toBe(200);
    expect((await api.http().get(`/v1/clients/${id}/keys`).set(operator)).body.rotationPolicy).toEqual({
      periodDays: 30,
      window: '* 2-4 * * 1-5',
      overlapSeconds: 900,
    });
    const server = await api
      .http()
      .put(`/v1/authorization-servers/${serverId}/rotation-policy`)
      .set(operator)
      .send({ periodDays: 0 });
    expect(server.status).toBe(400);
    expect(server.body.details.fields[0]).toMatchObject({ field: 'periodDays' });
  });
});
