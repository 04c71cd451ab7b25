import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { Test, TestingModule } from '@nestjs/testing';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { SigningKey } from '@keyshift/features/probes/client-assertion';
import { ClientSigningKeys } from '@keyshift/features/probes/client-signing-keys';
import { ProbeEntity, ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { ProbesService } from '@keyshift/features/probes/probes.service';
import { PeriodicJobs } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { aClient } from '../support/factories';
import { discoveredServer } from '../support/discovered-server';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/** The test hands a client a key registered inline at the AS (the keys feature's own tests use managed keys). */
class TestSigningKeys extends ClientSigningKeys {
  readonly keys = new Map<string, SigningKey>();
  async signingKey(clientRowId: string): Promise<SigningKey | null> {
    return this.keys.get(clientRowId) ?? null;
  }
  async canSign(clientRowId: string): Promise<boolean> {
    return this.keys.has(clientRowId);
  }
}

function ecKey(kid: string): { signing: SigningKey; publicJwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signing: { kid, alg: 'ES256', privateKey: privateKey as KeyObject },
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

describe('token-endpoint probes against the real oidc-provider', () => {
  let db: TestDatabase;
  let as: TestAuthorizationServer;
  let worker: TestingModule;
  let ds: DataSource;
  let serverId: string;
  const keys = new TestSigningKeys();

  beforeAll(async () => {
    [db, as] = await Promise.all([createTestDatabase(), startTestAuthorizationServer()]);
    worker = await Test.createTestingModule({
      imports: [WorkerModule.register(testConfig(db, { KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600' }))],
    })
      .overrideProvider(ClientSigningKeys)
      .useValue(keys)
      .compile();
    ds = worker.get(DataSource);
    serverId = await discoveredServer(worker, as.issuer);
  });
  afterAll(async () => {
    await worker.close();
    await Promise.all([as.stop(), db.drop()]);
  });

  /** Registers a client at the AS (RFC 7591) and imports it into Keyshift. */
  async function registeredClient(metadata: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
    const reg = await as.register(metadata);
    const method =
      (metadata.token_endpoint_auth_method as string) === 'client_secret_post'
        ? 'client_secret_post'
        : 'client_secret_basic';
    const view = await worker.get(ClientsService).create(
      aClient(serverId, {
        clientId: reg.client_id,
        clientSecret: reg.client_secret ?? 'unused-secret',
        authMethod: method,
        ...overrides,
      }) as never,
      operator,
    );
    return { id: view.id, reg };
  }
  const probe = (clientRowId: string, method: ProbeMethod, dpop = false) =>
    worker.get(ProbeRunner).run({ clientRowId, method, dpop, purpose: 'test' });

  it('client_secret_basic and client_secret_post obtain tokens; the token is never stored', async () => {
    const basic = await registeredClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const post = await registeredClient({ token_endpoint_auth_method: 'client_secret_post' });
    expect(await probe(basic.id, ProbeMethod.ClientSecretBasic)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      httpStatus: 200,
      tokenType: 'Bearer',
      errorCode: null,
    });
    expect(await probe(post.id, ProbeMethod.ClientSecretPost)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenType: 'Bearer',
    });
    const rows = await ds.query('SELECT row_to_json(p)::text AS j FROM probes p');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const { j } of rows) expect(j).not.toMatch(/access_token|eyJ/);
    const accesses = await worker
      .get(AuditLog)
      .list({ subjectId: basic.id, action: 'client.secret_accessed', limit: 5 });
    expect(accesses.items[0].after).toEqual({ field: 'client_secret', purpose: 'probe client_secret_basic' });
  });

  it('classifies a wrong secret as rejected with the OAuth error code', async () => {
    const c = await registeredClient(
      { token_endpoint_auth_method: 'client_secret_basic' },
      { clientSecret: 'not-the-secret' },
    );
    expect(await probe(c.id, ProbeMethod.ClientSecretBasic)).toMatchObject({
      outcome: ProbeOutcome.Rejected,
      errorCode: 'invalid_client',
      httpStatus: 401,
    });
  });

  it('private_key_jwt: an assertion Keyshift signs is accepted with aud = issuer and aud = token endpoint', async () => {
    const { signing, publicJwk } = ecKey('probe-key-1');
    const c = await registeredClient({
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [publicJwk] },
    });
    keys.keys.set(c.id, signing);
    expect(await probe(c.id, ProbeMethod.PrivateKeyJwt)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenType: 'Bearer',
    });
    await ds
      .getRepository(AuthorizationServerEntity)
      .update(serverId, { assertionAudience: 'token_endpoint' as never });
    worker.get(ProbeRunner).forgetServer(serverId);
    const viaTokenEndpoint = await probe(c.id, ProbeMethod.PrivateKeyJwt);
    expect(viaTokenEndpoint).toMatchObject({ outcome: ProbeOutcome.Ok });
    await ds.getRepository(AuthorizationServerEntity).update(serverId, { assertionAudience: 'issuer' as never });
    worker.get(ProbeRunner).forgetServer(serverId);
    keys.keys.set(c.id, ecKey('probe-key-1').signing); // same kid, another key: the server refuses it
    expect(await probe(c.id, ProbeMethod.PrivateKeyJwt)).toMatchObject({
      outcome: ProbeOutcome.Rejected,
      errorCode: 'invalid_client',
    });
  });

  it('DPoP: a proof yields token_type DPoP (bound); a client that requires DPoP refuses a request without one', async () => {
    const c = await registeredClient({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(await probe(c.id, ProbeMethod.ClientSecretBasic, true)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenType: 'DPoP',
      tokenBound: true,
      dpop: true,
    });
    const strict = await registeredClient({
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    });
    // oidc-provider 9 answers invalid_grant when a client registered with dpop_bound_access_tokens sends no proof.
    expect(await probe(strict.id, ProbeMethod.ClientSecretBasic)).toMatchObject({
      outcome: ProbeOutcome.Rejected,
      errorCode: 'invalid_grant',
    });
    expect(await probe(strict.id, ProbeMethod.ClientSecretBasic, true)).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenBound: true,
    });
  });

  it('runs as a BullMQ job on the server’s own queue and lists the evidence newest first', async () => {
    await worker.init();
    const c = await registeredClient({ token_endpoint_auth_method: 'client_secret_basic' });
    await worker.get(ProbesService).request(c.id, { dpop: true }, operator);
    const page = await waitFor(
      () => worker.get(ProbesService).list(c.id),
      (p) => p.items.length > 0,
    );
    expect(page.items[0]).toMatchObject({
      method: 'client_secret_basic',
      dpop: true,
      purpose: 'api',
      outcome: 'ok',
      tokenBound: true,
    });
    const sweep = await worker.get(ProbesService).sweep({ authorizationServerId: serverId }, operator);
    expect(sweep.queued).toBeGreaterThanOrEqual(6);
    const status = await waitFor(
      () => worker.get(ProbesService).sweepStatus(sweep.sweepId),
      (s) => s.probes === sweep.queued,
    );
    expect(status.probes).toBe(sweep.queued);
    expect(status.byOutcome.ok).toBeGreaterThanOrEqual(4);
    expect(await ds.getRepository(ProbeEntity).countBy({ sweepId: sweep.sweepId, attempt: 1 })).toBe(sweep.queued);
    worker.get(PeriodicJobs).onApplicationShutdown();
  });
});
