import { Phase, PhaseState, PHASE_ORDER } from '@keyshift/domain';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { discoveredServer } from '../support/discovered-server';
import { clientReaches, MigrationRig, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { KeycloakTwin, startKeycloakTwin } from '../support/twins/keycloak-twin';
import {
  advanceThroughCutover,
  breakPublishedJwks,
  journal,
  phasesEntered,
  recordsHolding,
  rollBack,
  SecretMethod,
  secretRequestStatus,
  twinClient,
} from '../support/vendor-twin-clients';
import { waitFor } from '../support/wait-for';

/**
 * The Keycloak connector against a twin of Keycloak's admin REST API in front of a real
 * node-oidc-provider (test/support/twins/keycloak-twin.ts says what the twin keeps of Keycloak and
 * what it cannot). Token requests, assertion checks and method enforcement are the provider's.
 */
describe('the Keycloak connector, against its admin API twin', () => {
  let rig: MigrationRig;
  let provider: TestAuthorizationServer;
  let twin: KeycloakTwin;
  let serverId: string;

  const secretRequest = (clientId: string, secret: string, method: SecretMethod) =>
    secretRequestStatus(provider.issuer, clientId, secret, method);
  /** A client registered at the provider, held by the twin as a Keycloak realm client, imported into Keyshift. */
  const keycloakClient = (tag: string, method: SecretMethod, target: Record<string, unknown>) =>
    twinClient(rig, serverId, provider, (reg, name) => twin.adopt(reg, name), tag, method, target);

  beforeAll(async () => {
    provider = await startTestAuthorizationServer(['--accept-client-ids']);
    twin = await startKeycloakTwin(provider);
    rig = await startMigrationRig();
    serverId = await discoveredServer(rig.worker, provider.issuer, {
      name: 'keycloak-acme',
      connector: {
        type: 'keycloak',
        adminUrl: twin.adminUrl,
        credential: { kind: 'client_credentials', ...twin.serviceAccount },
      },
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

  it('client_secret_basic in place with DPoP: all six phases, the secret regenerated at revocation, through 503 and 429', async () => {
    const { id, reg } = await keycloakClient('kc-basic', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'dpop',
      strategy: 'in_place',
      cutover: 'automatic',
    });
    twin.failNext(503);
    twin.failNext(429);
    await rig.campaign('kc-basic');
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done).toMatchObject({ secretStatus: 'shredded', secretCiphertext: null });
    expect(done.registrationState).toMatchObject({
      authMethod: 'private_key_jwt',
      dpopBound: true,
      secretRetired: true,
      keys: { delivery: 'jwks_uri' },
    });

    // Keycloak's own record: the authenticator switched, Keyshift's JWKS URL, DPoP required, the
    // secret regenerated to a value Keyshift never saw, no rotated secret left behind.
    const rep = twin.client(reg.client_id)!;
    expect(rep.clientAuthenticatorType).toBe('client-jwt');
    expect(rep.attributes).toMatchObject({
      'use.jwks.url': 'true',
      'jwks.url': expect.stringContaining(`/jwks/${done.jwksId}.json`),
      'dpop.bound.access.tokens': 'true',
    });
    expect(rep.secret).not.toBe(reg.client_secret);
    expect(twin.rotatedSecret(reg.client_id)).toBeNull();
    expect(twin.calls).toEqual(
      expect.arrayContaining([
        'GET /admin/realms/:realm/clients 503',
        'GET /admin/realms/:realm/clients 429',
        'PUT /admin/realms/:realm/clients/:id 204',
        'POST /admin/realms/:realm/clients/:id/client-secret 200',
        'DELETE /admin/realms/:realm/clients/:id/client-secret/rotated 204',
      ]),
    );
    expect(await phasesEntered(rig, id)).toEqual(PHASE_ORDER);
    // The change the 503 and the 429 interrupted was settled by asking Keycloak (not shown there:
    // abandoned) and made again; then the key, the switch, the secret's regeneration and DPoP.
    expect(await journal(rig, id)).toEqual([
      { operation: 'update', status: 'abandoned' },
      ...Array(4).fill({ operation: 'update', status: 'applied' }),
    ]);

    // At the provider: the old secret refused; the key works only with a DPoP proof.
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(401);
    const runner = rig.worker.get(ProbeRunner);
    expect(
      await runner.run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: true, purpose: 'test' }),
    ).toMatchObject({
      outcome: ProbeOutcome.Ok,
      tokenBound: true,
    });
    expect(
      await runner.run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: false, purpose: 'test' }),
    ).toMatchObject({
      outcome: ProbeOutcome.Rejected,
    });

    // Admin tokens were fetched once and reused across calls, and their use audited; no secret
    // (the client's, the regenerated one, the service account's) is in any audit event or journal row.
    const adminCalls = twin.calls.filter((c) => !/ (429|503)$/.test(c)).length;
    // One token lives 300 s at the provider (a fifth less in Keyshift's cache): the whole run needs one or two.
    expect(adminCalls).toBeGreaterThan(10);
    expect(twin.adminTokens.size).toBeLessThanOrEqual(2);
    const used = (await rig.ds.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'authorization_server.admin_credential_used' AND subject_id = $1`,
      [serverId],
    )) as { n: number }[];
    expect(used[0].n).toBe(twin.adminTokens.size);
    expect(await recordsHolding(rig, reg.client_secret, rep.secret!, twin.serviceAccount.clientSecret)).toBe(0);
    expect((await rig.worker.get(AuditLog).verify()).ok).toBe(true);
  }, 120_000);

  it('client_secret_post: a rollback before revocation gives the secret back, then the client completes', async () => {
    const { id, reg } = await keycloakClient('kc-post', 'client_secret_post', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'in_place',
      cutover: 'automatic',
    });
    const transitions = rig.worker.get(ClientTransitions);
    await advanceThroughCutover(rig, id);
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_post')).toBe(401);
    expect(twin.client(reg.client_id)!.clientAuthenticatorType).toBe('client-jwt');

    // An admin token revoked meanwhile: the connector's 401 fetches a fresh one.
    await twin.revokeAdminTokens();
    const tokensBefore = twin.adminTokens.size;
    await rollBack(rig, id);
    expect((await rig.row(id)).registrationState.authMethod).toBe('client_secret_post');
    expect(twin.client(reg.client_id)!.clientAuthenticatorType).toBe('client-secret');
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_post')).toBe(200);
    expect(twin.adminTokens.size).toBeGreaterThan(tokensBefore);

    await transitions.apply(id, { type: 'resume' }, 'ops');
    for (const phase of [Phase.ParallelAuth, Phase.Cutover, Phase.SecretRevocation, Phase.SenderConstraint]) {
      await clientReaches(rig, id, phase, PhaseState.Done);
      await transitions.apply(id, { type: 'advance', by: 'operator' }, 'ops');
    }
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done.registrationState).toMatchObject({ authMethod: 'private_key_jwt', secretRetired: true });
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_post')).toBe(401);
  }, 120_000);

  it('a key refused right after the switch: switched back to the secret at Keycloak, failed with the reason', async () => {
    const { id, reg } = await keycloakClient('kc-switchback', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'in_place',
    });
    await rig.campaign('kc-switchback');
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    await breakPublishedJwks(rig, id, waiting.jwksId!);
    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops');

    const failed = await clientReaches(rig, id, Phase.Cutover, PhaseState.Failed);
    expect(failed.stateReason).toContain('key probe failed after cutover');
    const reverted = await waitFor(
      () => rig.row(id),
      (c) => c.serverRevertTo === null,
    );
    expect(reverted.registrationState.authMethod).toBe('client_secret_basic');
    expect(twin.client(reg.client_id)!.clientAuthenticatorType).toBe('client-secret');
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(200);
  }, 120_000);

  it('successor: a new realm client holds the key from the start; the original is deleted at revocation', async () => {
    const { id, reg } = await keycloakClient('kc-successor', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'successor',
    });
    await rig.campaign('kc-successor');
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    const successor = twin.client(waiting.successorClientId!)!;
    expect(successor).toMatchObject({
      clientAuthenticatorType: 'client-jwt',
      serviceAccountsEnabled: true,
      attributes: expect.objectContaining({ 'use.jwks.url': 'true' }),
    });
    expect(twin.calls).toContain('POST /admin/realms/:realm/clients 201');

    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops', {
      auditDetail: { note: 'workload moved to the successor' },
    });
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done.registrationState).toMatchObject({ originalDeleted: true });
    expect(twin.client(reg.client_id)).toBeUndefined();
    expect(await secretRequest(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(401);
    expect(await journal(rig, id)).toEqual([
      { operation: 'register', status: 'applied' },
      { operation: 'delete', status: 'applied' },
    ]);
  }, 120_000);
});
