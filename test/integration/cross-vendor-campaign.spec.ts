import { Phase, PhaseState } from '@keyshift/domain';
import { CampaignsService } from '@keyshift/features/campaigns/campaigns.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { discoveredServer } from '../support/discovered-server';
import { aClient } from '../support/factories';
import { clientReaches, MigrationRig, operator, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { HydraTwin, startHydraTwin } from '../support/twins/hydra-twin';
import { KeycloakTwin, startKeycloakTwin } from '../support/twins/keycloak-twin';
import { OktaTwin, startOktaTwin } from '../support/twins/okta-twin';
import { waitFor } from '../support/wait-for';

/**
 * One campaign across servers of three vendors (Keycloak, Okta, Hydra, each a twin of its admin API
 * in front of its own node-oidc-provider): every client completes, each through its own connector.
 */
describe('a campaign across three vendors', () => {
  let rig: MigrationRig;
  const providers: TestAuthorizationServer[] = [];
  let keycloak: KeycloakTwin;
  let okta: OktaTwin;
  let hydra: HydraTwin;
  const members: { id: string; vendor: string }[] = [];

  beforeAll(async () => {
    const [kcAs, oktaAs, hydraAs] = await Promise.all([
      startTestAuthorizationServer(['--accept-client-ids']),
      startTestAuthorizationServer(['--accept-client-ids']),
      startTestAuthorizationServer(),
    ]);
    providers.push(kcAs, oktaAs, hydraAs);
    [keycloak, okta, hydra] = await Promise.all([
      startKeycloakTwin(kcAs),
      startOktaTwin(oktaAs),
      startHydraTwin(hydraAs),
    ]);
    rig = await startMigrationRig();
    const servers = {
      keycloak: await discoveredServer(rig.worker, kcAs.issuer, {
        name: 'keycloak',
        connector: {
          type: 'keycloak',
          adminUrl: keycloak.adminUrl,
          credential: { kind: 'client_credentials', ...keycloak.serviceAccount },
        },
        trustedHosts: [new URL(keycloak.url).host],
        probeRatePerSecond: 100,
      }),
      okta: await discoveredServer(rig.worker, oktaAs.issuer, {
        name: 'okta',
        connector: {
          type: 'okta',
          adminUrl: okta.adminUrl,
          credential: { kind: 'ssws', token: okta.apiToken },
          adminCallsPerMinute: 6000,
        },
        assertionAudience: 'token_endpoint',
        trustedHosts: [new URL(okta.url).host],
        probeRatePerSecond: 100,
      }),
      hydra: await discoveredServer(rig.worker, hydraAs.issuer, {
        name: 'hydra',
        connector: { type: 'hydra', adminUrl: hydra.adminUrl, credential: { kind: 'bearer', token: hydra.adminToken } },
        assertionAudience: 'token_endpoint',
        trustedHosts: [new URL(hydra.url).host],
        probeRatePerSecond: 100,
      }),
    };
    const adopt = {
      keycloak: (r: Record<string, string>) => keycloak.adopt(r),
      okta: (r: Record<string, string>) => okta.adopt(r),
      hydra: (r: Record<string, string>) => hydra.adopt(r),
    };
    for (const [vendor, provider] of [
      ['keycloak', kcAs],
      ['okta', oktaAs],
      ['hydra', hydraAs],
    ] as const) {
      for (let n = 0; n < 3; n++) {
        const reg = await provider.register({
          token_endpoint_auth_method: 'client_secret_basic',
          client_name: `${vendor}-${n}`,
        });
        adopt[vendor](reg);
        const { id } = await rig.worker.get(ClientsService).create(
          aClient(servers[vendor], {
            clientId: reg.client_id,
            clientSecret: reg.client_secret,
            tags: ['cross-vendor'],
            target: {
              authMethod: 'private_key_jwt',
              senderConstraint: 'none',
              strategy: 'in_place',
              cutover: 'automatic',
            },
          }) as never,
          operator,
        );
        members.push({ id, vendor });
      }
    }
  }, 90_000);
  afterAll(async () => {
    await rig.close();
    await Promise.all([keycloak.close(), okta.close(), hydra.close()]);
    await Promise.all(providers.map((p) => p.stop()));
  });

  it('completes, every client through its own vendor connector, with the secret retired there', async () => {
    const campaignId = await rig.campaign('cross-vendor', { canarySize: 3, waveSize: 3 });
    for (const { id } of members) {
      const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done, 120_000);
      expect(done).toMatchObject({ phase: Phase.Completed, state: PhaseState.Done, secretStatus: 'shredded' });
      expect(done.registrationState).toMatchObject({ authMethod: 'private_key_jwt', secretRetired: true });
    }
    const campaign = await waitFor(
      () => rig.worker.get(CampaignsService).get(campaignId),
      (c) => c.status === 'completed',
      30_000,
    );
    expect(campaign.status).toBe('completed');
    expect(keycloak.calls.some((c) => c.startsWith('POST /admin/realms/:realm/clients/:id/client-secret 200'))).toBe(
      true,
    );
    expect(okta.calls.some((c) => c.startsWith('DELETE /api/v1/apps/:id/credentials/secrets/:sid 204'))).toBe(true);
    expect(hydra.calls.some((c) => c.startsWith('PATCH /admin/clients/:id 200'))).toBe(true);
  }, 240_000);
});
