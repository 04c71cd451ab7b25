import { Phase, PhaseState } from '@keyshift/domain';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { InventoryService } from '@keyshift/features/inventory/inventory.service';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { discoveredServer } from '../support/discovered-server';
import { clientReaches, MigrationRig, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { OktaTwin, startOktaTwin } from '../support/twins/okta-twin';
import {
  advanceThroughCutover,
  recordsHolding,
  rollBack,
  SecretMethod,
  secretRequestStatus,
  twinClient,
} from '../support/vendor-twin-clients';
import { waitFor } from '../support/wait-for';

/**
 * The Okta connector against a twin of Okta's Management API in front of a real node-oidc-provider
 * (test/support/twins/okta-twin.ts says what the twin keeps of Okta and what it cannot).
 */
describe('the Okta connector, against its Management API twin', () => {
  let rig: MigrationRig;
  let provider: TestAuthorizationServer;
  let twin: OktaTwin;
  let serverId: string;

  const secretStatus = (clientId: string, secret: string, method: string) =>
    secretRequestStatus(provider.issuer, clientId, secret, method as SecretMethod);
  const oktaClient = (tag: string, method: string, target: Record<string, unknown>) =>
    twinClient(rig, serverId, provider, (reg, label) => twin.adopt(reg, label), tag, method as SecretMethod, target);

  beforeAll(async () => {
    provider = await startTestAuthorizationServer(['--accept-client-ids']);
    twin = await startOktaTwin(provider);
    rig = await startMigrationRig();
    serverId = await discoveredServer(rig.worker, provider.issuer, {
      name: 'okta',
      connector: {
        type: 'okta',
        adminUrl: twin.adminUrl,
        credential: { kind: 'ssws', token: twin.apiToken },
        adminCallsPerMinute: 6000,
      },
      assertionAudience: 'token_endpoint',
      trustedHosts: [new URL(twin.url).host],
      probeRatePerSecond: 200,
      probeConcurrency: 16,
    });
  }, 60_000);
  afterAll(async () => {
    await rig.close();
    await twin.close();
    await provider.stop();
  });

  it('client_secret_basic in place with DPoP: all six phases by full-app PUTs, every secret deactivated and deleted', async () => {
    const { id, reg } = await oktaClient('okta-basic', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'dpop',
      strategy: 'in_place',
      cutover: 'automatic',
    });
    twin.failNext(429); // waited out (Retry-After), not a failure
    await rig.campaign('okta-basic');
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done.registrationState).toMatchObject({
      authMethod: 'private_key_jwt',
      dpopBound: true,
      secretRetired: true,
    });
    expect(twin.app(reg.client_id)).toMatchObject({
      credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt' } },
      settings: {
        oauthClient: { jwks_uri: expect.stringContaining(`/jwks/${done.jwksId}.json`), dpop_bound_access_tokens: true },
      },
    });
    expect(twin.secrets(reg.client_id)).toEqual([]);
    expect(twin.calls).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/apps/:id 200',
        'POST /api/v1/apps/:id/credentials/secrets/:sid/lifecycle/deactivate 200',
        'DELETE /api/v1/apps/:id/credentials/secrets/:sid 204',
      ]),
    );
    expect(twin.calls.filter((c) => c.endsWith(' 429'))).toHaveLength(1);
    expect(await secretStatus(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(401);
    const runner = rig.worker.get(ProbeRunner);
    expect(
      await runner.run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: true, purpose: 'test' }),
    ).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenBound: true,
    });
    expect(await recordsHolding(rig, reg.client_secret, twin.apiToken)).toBe(0);
  }, 120_000);

  it('client_secret_post: rolled back before revocation, the secret works again and is still listed active', async () => {
    const { id, reg } = await oktaClient('okta-post', 'client_secret_post', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'in_place',
      cutover: 'automatic',
    });
    await advanceThroughCutover(rig, id);
    expect(await secretStatus(reg.client_id, reg.client_secret, 'client_secret_post')).toBe(401);
    await rollBack(rig, id);
    expect(twin.app(reg.client_id)!.credentials.oauthClient.token_endpoint_auth_method).toBe('client_secret_post');
    expect(twin.secrets(reg.client_id)).toEqual([expect.objectContaining({ status: 'ACTIVE' })]);
    expect(await secretStatus(reg.client_id, reg.client_secret, 'client_secret_post')).toBe(200);
  }, 120_000);

  it('successor: a new API Services app holds the key; the original is deactivated, then deleted', async () => {
    const { id, reg } = await oktaClient('okta-successor', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'successor',
    });
    await rig.campaign('okta-successor');
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    expect(twin.app(waiting.successorClientId!)).toMatchObject({
      credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt' } },
    });
    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops');
    await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(twin.app(reg.client_id)).toBeUndefined();
    expect(twin.calls).toEqual(
      expect.arrayContaining(['POST /api/v1/apps/:id/lifecycle/deactivate 200', 'DELETE /api/v1/apps/:id 204']),
    );
  }, 120_000);

  it('lists apps with their secrets (count and age), and refuses an import Okta cannot give secrets for', async () => {
    for (let n = 0; n < 230; n++) {
      const reg = await provider.register({ token_endpoint_auth_method: 'client_secret_basic' });
      twin.adopt(reg, `svc-${n}`, new Date(Date.now() - (n % 2 ? 500 : 10) * 86_400_000));
    }
    const inventory = rig.api.get(InventoryService);
    const ops = { tokenId: 't', name: 'ops', role: Role.Operator };
    const callsBefore = twin.bucket.calls;
    const run = await inventory.start(serverId, ops);
    const done = await waitFor(
      () => inventory.get(serverId, run.id, undefined, 5),
      (r) => r.run.status !== 'queued' && r.run.status !== 'running',
      60_000,
    );
    expect(done.run).toMatchObject({ status: 'done', pages: 2 });
    expect(done.run.clientsFound).toBeGreaterThanOrEqual(230);
    expect(done.run.adminCalls).toBe(2 + done.run.clientsFound);
    expect(done.summary.onSecret.byAge.over365Days).toBe(115);
    expect(done.clients[0]).toMatchObject({ secrets: { count: expect.any(Number), issuedAt: expect.any(String) } });
    // What the run says it cost is what the twin's bucket counted: a listing call per page, a secrets call per app.
    expect(twin.bucket.calls - callsBefore).toBe(done.run.adminCalls);
    const candidate = (await inventory.get(serverId, run.id, undefined, 500)).clients.find(
      (c) => !c.managed && c.authMethod === 'client_secret_basic',
    )!;
    await expect(
      inventory.import(
        serverId,
        run.id,
        {
          clientIds: [candidate.clientId],
          target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' } as never,
        },
        ops,
      ),
    ).rejects.toThrow(/the okta connector cannot read secrets/);
  }, 120_000);
});
