import { generateKeyPairSync } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Phase, PhaseState } from '@keyshift/domain';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { aClient } from '../support/factories';
import { discoveredServer } from '../support/discovered-server';
import { clientReaches, MigrationRig, operator, startMigrationRig } from '../support/migration-rig';
import { waitFor } from '../support/wait-for';

/**
 * What each fake registration record answers to RFC 7592 reads and updates: nothing (a server that
 * accepts the calls and registers nothing), another jwks_uri, or an inline jwks without the key.
 */
const OTHER_KEY = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'not-yours',
};
const RECORDS: Record<string, Record<string, unknown>> = {
  empty: {},
  'other-uri': { token_endpoint_auth_method: 'client_secret_basic', jwks_uri: 'https://elsewhere.example/jwks.json' },
  'other-jwks': { token_endpoint_auth_method: 'client_secret_basic', jwks: { keys: [OTHER_KEY] } },
};

/**
 * A server that discovers like a real one and answers RFC 7592 with a record that does not hold the
 * client's key (the issue's `{}` server among them). Only discovery and /reg are served: at a
 * server that holds one method per client, key registration makes no token request.
 */
async function startFakeServer(): Promise<{ issuer: string; server: Server }> {
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      if (req.url === '/.well-known/openid-configuration') {
        return json(200, {
          issuer,
          token_endpoint: `${issuer}/token`,
          registration_endpoint: `${issuer}/reg`,
          jwks_uri: `${issuer}/jwks`,
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
          token_endpoint_auth_signing_alg_values_supported: ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'],
          dpop_signing_alg_values_supported: ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'],
        });
      }
      const record = /^\/reg\/([a-z-]+)$/.exec(req.url ?? '');
      if (record && RECORDS[record[1]] && (req.method === 'GET' || req.method === 'PUT')) {
        return json(200, RECORDS[record[1]]);
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Issue 12, phase evidence: at a server that holds one method per client, key registration's
 * evidence comes from the key set the server's own registration record holds (RFC 7592 read), not
 * from Keyshift's JWKS URL. A record without the key blocks the client with the reason.
 */
describe('key registration evidence comes from what the server holds', () => {
  let rig: MigrationRig;
  let fake: { issuer: string; server: Server };
  let fakeServerId: string;

  beforeAll(async () => {
    [rig, fake] = await Promise.all([startMigrationRig(), startFakeServer()]);
    fakeServerId = await discoveredServer(rig.worker, fake.issuer, { name: 'fake', probeRatePerSecond: 200 });
  }, 60_000);
  afterAll(async () => {
    await rig.close();
    await new Promise((r) => fake.server.close(r));
  });

  const probesOf = (id: string) =>
    rig.ds.query(
      `SELECT purpose, via, outcome, detail FROM probes WHERE client_row_id = $1 AND purpose = 'key_registration' ORDER BY created_at`,
      [id],
    ) as Promise<{ purpose: string; via: string; outcome: string; detail: string }[]>;

  it('the real oidc-provider: the key is verified against the jwks_uri its registration record holds', async () => {
    const { id } = await rig.client({
      tags: ['evidence-real'],
      target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
    });
    await rig.campaign('evidence-real');
    const row = await clientReaches(rig, id, Phase.KeyRegistration, PhaseState.Done);
    expect(row.state).toBe(PhaseState.Done);
    const [probe] = await probesOf(id);
    expect(probe).toMatchObject({ via: 'published_jwks', outcome: 'ok' });
    expect(probe.detail).toContain(`registration record holds (${row.registrationState.keys!.jwksUri})`);
  });

  it.each([
    ['empty', /holds no key \(neither jwks_uri nor jwks\)/],
    ['other-uri', /names jwks_uri https:\/\/elsewhere\.example\/jwks\.json, not Keyshift's/],
    ['other-jwks', /the jwks the server holds for .* has no key with kid or thumbprint/],
  ])('a server whose record %s: blocked at key_registration with the reason', async (record, reason) => {
    const view = await rig.worker.get(ClientsService).create(
      aClient(fakeServerId, {
        clientId: `fake-${record}`,
        clientSecret: 'a-secret-the-fake-never-checks',
        registrationAccessToken: 'a-token-the-fake-never-checks',
        registrationClientUri: `${fake.issuer}/reg/${record}`,
        tags: [`evidence-${record}`],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
      }) as never,
      operator,
    );
    await rig.campaign(`evidence-${record}`);
    const row = await waitFor(
      () => rig.row(view.id),
      (c) => c.phase !== Phase.VendorCheck && (c.state === PhaseState.Blocked || c.state === PhaseState.Done),
      30_000,
    );
    expect(row).toMatchObject({ phase: Phase.KeyRegistration, state: PhaseState.Blocked });
    expect(row.stateReason).toMatch(reason);
    // The check is on the record too, as a rejected probe: the evidence pack cannot claim otherwise.
    const probes = await probesOf(view.id);
    expect(probes).toEqual([expect.objectContaining({ via: 'published_jwks', outcome: 'rejected' })]);
    expect(probes[0].detail).toMatch(reason);
  });
});
