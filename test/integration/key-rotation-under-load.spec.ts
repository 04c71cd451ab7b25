import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { importJWK, JWK, SignJWT } from 'jose';
import { PeriodicJobs } from '@keyshift/queue';
import { createApiApp } from '../../apps/api/src/create-api-app';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { freePort, giveActiveKey, switchToJwksUri } from '../support/keyed-client';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type SigningMaterial = Awaited<ReturnType<typeof importJWK>>;

/**
 * Issue 4's proof: a workload keeps requesting tokens with private_key_jwt, signing with whichever
 * key Keyshift says is active, while Keyshift rotates that key at the real oidc-provider (which
 * fetches the client's jwks_uri from Keyshift and caches it for at least 60 s). Real timings: the
 * overlap is 60 s (the server's cache) + 5 s (its assertion lifetime) + 1 s margin, twice.
 */
describe('rotation under load against the real oidc-provider', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let api: NestFastifyApplication;
  let worker: TestingModule;
  let base: string;
  let adminToken: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer()]);
    const config = testConfig(db, {
      KEYSHIFT_PUBLIC_URL: base,
      KEYSHIFT_JWKS_MAX_AGE_SECONDS: '30',
      KEYSHIFT_KEY_OVERLAP_MARGIN_SECONDS: '1',
      KEYSHIFT_KEY_ROTATION_TICK_SECONDS: '5',
      KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
    });
    adminToken = config.adminToken;
    api = await createApiApp(config);
    await api.listen(port, '127.0.0.1');
    worker = await Test.createTestingModule({ imports: [WorkerModule.register(config)] }).compile();
    await worker.init();
  });
  afterAll(async () => {
    worker.get(PeriodicJobs).onApplicationShutdown();
    await worker.close();
    await api.close();
    await Promise.all([as.stop(), db.drop()]);
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  it('rotates the key with zero failed token requests', async () => {
    const server = await call('POST', '/v1/authorization-servers', {
      name: 'oidc-provider',
      issuer: as.issuer,
      connector: { type: 'rfc7592' },
      jwksCacheSeconds: 60,
      maxAssertionSeconds: 5,
    });
    await waitFor(
      () => call('GET', `/v1/authorization-servers/${server.id}`),
      (s) => (s.discovery as { status: string }).status === 'ok',
    );
    const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic' });
    const client = await call('POST', '/v1/clients', {
      authorizationServerId: server.id,
      clientId: reg.client_id,
      authMethod: 'client_secret_basic',
      clientSecret: reg.client_secret,
      target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
    });
    const first = await giveActiveKey(worker, client.id as string, base);
    await switchToJwksUri(reg, first.jwksUri);

    // The workload: learns the active key from Keyshift (its private key through the admin export).
    const signingKeys = new Map<string, { kid: string; key: SigningMaterial }>();
    let active: { kid: string; key: SigningMaterial } | undefined;
    const refreshActive = async () => {
      const listing = await call('GET', `/v1/clients/${client.id}/keys`);
      const current = (listing.keys as { id: string; kid: string; state: string }[]).find((k) => k.state === 'active')!;
      if (!signingKeys.has(current.id)) {
        const exported = await call('POST', `/v1/clients/${client.id}/keys/${current.id}/export`, { format: 'jwk' });
        signingKeys.set(current.id, { kid: current.kid, key: await importJWK(exported.privateKey as JWK, 'ES256') });
      }
      active = signingKeys.get(current.id);
    };
    await refreshActive();

    let running = true;
    const results = { ok: 0, failed: [] as string[], kids: new Set<string>() };
    const requestToken = async () => {
      const { kid, key } = active!;
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(reg.client_id)
        .setSubject(reg.client_id)
        .setAudience(as.issuer)
        .setJti(randomUUID())
        .setIssuedAt(now - 2)
        .setExpirationTime(now + 5)
        .sign(key);
      const res = await fetch(`${as.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
      const body = await res.text();
      if (res.status === 200) {
        results.ok++;
        results.kids.add(kid);
      } else results.failed.push(`${res.status} with ${kid}: ${body}`);
    };
    const loops = [
      (async () => {
        while (running) {
          await refreshActive();
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      ...Array.from({ length: 3 }, async () => {
        while (running) {
          await requestToken();
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    ];

    await new Promise((r) => setTimeout(r, 1_000)); // traffic with the first key before the rotation
    const rotation = await call('POST', `/v1/clients/${client.id}/keys/rotate`, {});
    expect(rotation).toMatchObject({ step: 'create', overlapSeconds: 66 });
    const finished = await waitFor(
      async () =>
        (await call('GET', `/v1/clients/${client.id}/keys`)).rotation as { status: string; lastError: string | null },
      (r) => r.status === 'done' || r.status === 'failed',
      200_000,
    );
    await new Promise((r) => setTimeout(r, 1_000)); // and traffic after it
    running = false;
    await Promise.all(loops);

    process.stdout.write(
      `rotation under load: ${results.ok} token requests succeeded, ${results.failed.length} failed\n`,
    );
    expect(finished).toMatchObject({ status: 'done', lastError: null });
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(500);
    expect(results.kids.size).toBe(2); // both keys carried traffic
    const keys = (await call('GET', `/v1/clients/${client.id}/keys`)).keys as { kid: string; state: string }[];
    expect(keys.map((k) => k.state)).toEqual(['retired', 'active']);
    expect(keys[0].kid).toBe(first.kid);
  }, 240_000);
});
