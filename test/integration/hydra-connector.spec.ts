import { Phase, PhaseState, PHASE_ORDER } from '@keyshift/domain';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { discoveredServer } from '../support/discovered-server';
import { clientReaches, MigrationRig, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { HydraTwin, startHydraTwin } from '../support/twins/hydra-twin';
import {
  advanceThroughCutover,
  phasesEntered,
  recordsHolding,
  rollBack,
  SecretMethod,
  secretRequestStatus,
  twinClient,
} from '../support/vendor-twin-clients';

/**
 * The Hydra connector against a twin of Ory Hydra's admin API in front of a real node-oidc-provider
 * (test/support/twins/hydra-twin.ts says what the twin keeps of Hydra and what it cannot).
 */
describe('the Hydra connector, against its admin API twin', () => {
  let rig: MigrationRig;
  let provider: TestAuthorizationServer;
  let twin: HydraTwin;
  let serverId: string;

  const secretStatus = (clientId: string, secret: string, method: string) =>
    secretRequestStatus(provider.issuer, clientId, secret, method as SecretMethod);
  const hydraClient = (tag: string, method: string, target: Record<string, unknown>) =>
    twinClient(rig, serverId, provider, (reg) => twin.adopt(reg), tag, method as SecretMethod, target);

  beforeAll(async () => {
    provider = await startTestAuthorizationServer();
    twin = await startHydraTwin(provider);
    rig = await startMigrationRig();
    serverId = await discoveredServer(rig.worker, provider.issuer, {
      name: 'hydra',
      connector: { type: 'hydra', adminUrl: twin.adminUrl, credential: { kind: 'bearer', token: twin.adminToken } },
      // fosite accepts only a token URL as the assertion's aud.
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

  it.each(['client_secret_basic', 'client_secret_post'])(
    '%s in place: all six phases by JSON Patch, the secret replaced at revocation',
    async (method) => {
      const tag = `hydra-${method}`;
      const { id, reg } = await hydraClient(tag, method, {
        authMethod: 'private_key_jwt',
        senderConstraint: 'none',
        strategy: 'in_place',
        cutover: 'automatic',
      });
      await rig.campaign(tag);
      const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
      expect(done).toMatchObject({ secretStatus: 'shredded', secretCiphertext: null });
      expect(done.registrationState).toMatchObject({ authMethod: 'private_key_jwt', secretRetired: true });
      expect(await twin.client(reg.client_id)).toMatchObject({
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: expect.stringContaining(`/jwks/${done.jwksId}.json`),
        token_endpoint_auth_signing_alg: expect.any(String),
      });
      expect(twin.secretReplacements(reg.client_id)).toBe(1);
      // Hydra's PATCH answered with the replaced secret: it is in no record Keyshift keeps.
      expect(
        await recordsHolding(rig, reg.client_secret, twin.lastReplacedSecret(reg.client_id)!, twin.adminToken),
      ).toBe(0);
      expect(await secretStatus(reg.client_id, reg.client_secret, method)).toBe(401);
      expect(
        await rig.worker
          .get(ProbeRunner)
          .run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: false, purpose: 'test' }),
      ).toMatchObject({ outcome: ProbeOutcome.Ok });
      expect(await phasesEntered(rig, id)).toEqual(PHASE_ORDER);
      expect(twin.calls.filter((c) => c.startsWith('PATCH'))).not.toHaveLength(0);
    },
    120_000,
  );

  it('refuses a DPoP target at the vendor check, naming the gap (Hydra has no DPoP switch)', async () => {
    const { id } = await hydraClient('hydra-dpop', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'dpop',
      strategy: 'in_place',
    });
    const blocked = await clientReaches(rig, id, Phase.VendorCheck, PhaseState.Blocked);
    expect(blocked.stateReason).toContain('a way for the connector to require DPoP-bound tokens for the client');
  }, 60_000);

  it('a rollback at cutover puts the secret method back at Hydra; the successor strategy registers and deletes there', async () => {
    const { id, reg } = await hydraClient('hydra-rollback', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'in_place',
      cutover: 'automatic',
    });
    const transitions = rig.worker.get(ClientTransitions);
    await advanceThroughCutover(rig, id);
    expect(await secretStatus(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(401);
    await rollBack(rig, id);
    expect(await twin.client(reg.client_id)).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(await secretStatus(reg.client_id, reg.client_secret, 'client_secret_basic')).toBe(200);

    const successor = await hydraClient('hydra-successor', 'client_secret_basic', {
      authMethod: 'private_key_jwt',
      senderConstraint: 'none',
      strategy: 'successor',
    });
    await rig.campaign('hydra-successor');
    const waiting = await clientReaches(rig, successor.id, Phase.Cutover, PhaseState.Waiting);
    expect(waiting.successorClientId).toBeTruthy();
    expect(await twin.client(waiting.successorClientId!)).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
    });
    await transitions.apply(successor.id, { type: 'cutover_confirmed' }, 'ops');
    await clientReaches(rig, successor.id, Phase.Completed, PhaseState.Done);
    expect(await twin.client(successor.reg.client_id)).toBeUndefined();
    expect(twin.calls).toContain('POST /admin/clients 201');
    expect(twin.calls).toContain('DELETE /admin/clients/:id 204');
  }, 120_000);
});
