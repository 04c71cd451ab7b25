import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Phase, PhaseState, PHASE_ORDER } from '@keyshift/domain';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import {
  ChangeOutcome,
  Connector,
  ConnectorCapabilities,
  ConnectorError,
  ConnectorServer,
  ConnectorTarget,
  NewRegistration,
  RegistrationChange,
  ServerAnswer,
  ServerConnector,
} from '@keyshift/features/connectors/server-connector';
import { ConnectorCatalog } from '@keyshift/features/ports/connector-catalog';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { discoveredServer } from '../support/discovered-server';
import { aClient } from '../support/factories';
import { clientReaches, MigrationRig, operator, startMigrationRig } from '../support/migration-rig';
import { startTestAuthorizationServer, TestAuthorizationServer } from '../support/test-as';
import { toProvider } from '../support/twins/twin-http';

/**
 * Issue 13's proof of the connector seam: a connector defined only in this file, registered in a
 * test module next to the worker, takes a client through all six phases. Nothing outside this file
 * knows its type name.
 *
 * Its server is an admin API twin in front of a real node-oidc-provider: client records by
 * client_id, a merging PUT (absent fields stay, null removes), one admin bearer credential for every
 * client. Behind it the twin speaks RFC 7591/7592 to the provider and keeps the registration access
 * tokens itself, as a vendor's admin side would; Keyshift never holds one for these clients.
 */

const ADMIN_KEY = 'twin-admin-key';
const SERVER_ISSUED = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
];

interface AdminTwin {
  url: string;
  /** Every call the twin answered, as `METHOD /path status`. */
  calls: string[];
  /** Authorization headers the twin saw (to prove only the admin credential was ever sent). */
  credentials: Set<string>;
  adopt(registration: Record<string, string>): void;
  close(): Promise<void>;
}

async function startAdminTwin(provider: TestAuthorizationServer): Promise<AdminTwin> {
  const records = new Map<string, { uri: string; token: string }>();
  const calls: string[] = [];
  const credentials = new Set<string>();
  const withoutSecrets = (metadata: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(metadata).filter(([k]) => !SERVER_ISSUED.includes(k)));
  const keep = (clientId: string, answer: Record<string, unknown>) => {
    const held = records.get(clientId)!;
    if (typeof answer.registration_access_token === 'string') held.token = answer.registration_access_token;
  };

  const handle = async (req: IncomingMessage, payload: Record<string, unknown>) => {
    credentials.add(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Bearer ${ADMIN_KEY}`) return { status: 401, body: { error: 'unauthorized' } };
    const path = new URL(req.url ?? '/', 'http://twin').pathname;
    if (path === '/admin/clients' && req.method === 'POST') {
      const created = await toProvider('POST', `${provider.issuer}/reg`, null, payload);
      if (created.status !== 201) return created;
      const clientId = created.body.client_id as string;
      records.set(clientId, {
        uri: created.body.registration_client_uri as string,
        token: created.body.registration_access_token as string,
      });
      return { status: 201, body: withoutSecrets(created.body) };
    }
    const match = /^\/admin\/clients\/([^/]+)$/.exec(path);
    const clientId = match ? decodeURIComponent(match[1]) : null;
    const held = clientId ? records.get(clientId) : undefined;
    if (!clientId || !held) return { status: 404, body: { error: 'client_not_found' } };
    const current = await toProvider('GET', held.uri, held.token);
    if (current.status !== 200 || req.method === 'GET') {
      return { status: current.status, body: withoutSecrets(current.body) };
    }
    if (req.method === 'DELETE') {
      const deleted = await toProvider('DELETE', held.uri, held.token);
      if (deleted.status === 204) records.delete(clientId);
      return { status: deleted.status, body: {} };
    }
    if (req.method === 'PUT') {
      // The twin's own semantics: a merge. RFC 7592 underneath is a full replacement.
      const next: Record<string, unknown> = withoutSecrets({ ...current.body, ...payload });
      if ('jwks_uri' in payload) delete next.jwks;
      for (const [field, value] of Object.entries(next)) if (value === null) delete next[field];
      const updated = await toProvider('PUT', held.uri, held.token, next);
      if (updated.status === 200) keep(clientId, updated.body);
      return { status: updated.status, body: withoutSecrets(updated.body) };
    }
    return { status: 405, body: { error: 'method_not_allowed' } };
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      handle(req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {})
        .then(({ status, body }) => {
          const path = new URL(req.url ?? '/', 'http://twin').pathname.replace(/^(\/admin\/clients\/)[^/]+$/, '$1:id');
          calls.push(`${req.method} ${path} ${status}`);
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        })
        .catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    credentials,
    adopt: (reg) =>
      records.set(reg.client_id, { uri: reg.registration_client_uri, token: reg.registration_access_token }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const TWIN = Symbol('admin twin');

/** The connector under test: it only speaks to its server, and says what it can do as data. */
@Connector('admin-twin')
@Injectable()
class AdminTwinConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    credential: 'server_admin',
    // node-oidc-provider behind the twin holds one auth method per client.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri'],
    secretRetirement: 'method_switch',
    canRegister: true,
    canDelete: true,
    senderConstraints: { dpop: true, mtls: false },
    assertion: {
      audiences: ['issuer', 'token_endpoint'],
      maxLifetimeSeconds: 60,
      algs: ['ES256', 'PS256', 'RS256'],
      typ: null,
    },
    // The twin's one admin key is built into this test connector, not configured per server.
    adminApi: null,
  };

  constructor(@Inject(TWIN) private readonly twin: { url: string }) {}

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    return this.call('GET', `/admin/clients/${encodeURIComponent(target.clientId)}`);
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    return {
      kind: 'applied',
      answer: await this.call('PUT', `/admin/clients/${encodeURIComponent(target.clientId)}`, change),
    };
  }

  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    return {
      kind: 'applied',
      answer: await this.call('DELETE', `/admin/clients/${encodeURIComponent(target.clientId)}`),
    };
  }

  async register(_server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration> {
    const answer = await this.call('POST', '/admin/clients', metadata);
    const clientId = typeof answer.metadata.client_id === 'string' ? answer.metadata.client_id : null;
    return { ...answer, clientId, registrationClientUri: null, refusal: null };
  }

  private async call(method: string, path: string, body?: object): Promise<ServerAnswer> {
    const started = performance.now();
    const res = await fetch(`${this.twin.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) {
      throw new ConnectorError(
        `admin twin ${method}: HTTP ${res.status}`,
        res.status === 429 || res.status >= 500,
        res.status,
      );
    }
    return {
      metadata: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      registrationAccessToken: null,
      serverMs: Math.round(performance.now() - started),
    };
  }
}

describe('a connector defined only in a test file', () => {
  let rig: MigrationRig;
  let provider: TestAuthorizationServer;
  let twin: AdminTwin;
  let serverId: string;

  beforeAll(async () => {
    provider = await startTestAuthorizationServer();
    twin = await startAdminTwin(provider);
    @Module({ providers: [AdminTwinConnector, { provide: TWIN, useValue: twin }] })
    class AdminTwinConnectorModule {}
    rig = await startMigrationRig({}, { imports: [AdminTwinConnectorModule] });
    serverId = await discoveredServer(rig.worker, provider.issuer, {
      connector: { type: 'admin-twin' },
      probeRatePerSecond: 200,
      probeConcurrency: 16,
    });
  }, 60_000);
  afterAll(async () => {
    await rig.close();
    await twin.close();
    await provider.stop();
  });

  it('takes a client through all six phases, in place with DPoP, through the admin API twin', async () => {
    expect(rig.worker.get(ConnectorCatalog).types()).toContain('admin-twin');
    const reg = await provider.register({
      token_endpoint_auth_method: 'client_secret_basic',
      client_name: 'billing-api',
    });
    twin.adopt(reg);
    const { id } = await rig.worker.get(ClientsService).create(
      aClient(serverId, {
        clientId: reg.client_id,
        clientSecret: reg.client_secret,
        tags: ['twin'],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place', cutover: 'automatic' },
      }) as never,
      operator,
    );
    await rig.campaign('twin');

    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done).toMatchObject({
      secretStatus: 'shredded',
      secretCiphertext: null,
      registrationAccessTokenCiphertext: null,
    });
    expect(done.registrationState).toMatchObject({
      authMethod: 'private_key_jwt',
      dpopBound: true,
      keys: { delivery: 'jwks_uri' },
    });

    // Every phase entered, in order, on the record.
    const trail = (await rig.worker.get(AuditLog).list({ subjectId: id, limit: 200 })).items;
    const entered = [Phase.VendorCheck as string];
    for (const e of trail) {
      const phase = (e.after as Record<string, unknown> | null)?.phase as string | undefined;
      if (phase && phase !== entered[entered.length - 1]) entered.push(phase);
    }
    expect(entered).toEqual(PHASE_ORDER);
    expect(
      trail
        .filter((e) => e.action === 'client.registration_updated')
        .map((e) => (e.after as { change: unknown }).change),
    ).toEqual([
      { jwks_uri: expect.stringContaining('/jwks/') },
      { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: expect.any(String) },
      { dpop_bound_access_tokens: true },
    ]);

    // The Registrar journalled the twin's calls like any connector's, and all were applied.
    const journal = (await rig.ds.query(
      `SELECT operation, status FROM registration_exchanges WHERE client_row_id = $1 ORDER BY created_at`,
      [id],
    )) as { operation: string; status: string }[];
    expect(journal).toEqual([
      { operation: 'update', status: 'applied' },
      { operation: 'update', status: 'applied' },
      { operation: 'update', status: 'applied' },
    ]);
    // Only the admin API was spoken to, only with the admin credential.
    expect(twin.calls.filter((c) => c.startsWith('PUT'))).toEqual(Array(3).fill('PUT /admin/clients/:id 200'));
    expect(twin.calls.some((c) => c.startsWith('GET /admin/clients/:id 200'))).toBe(true);
    expect([...twin.credentials]).toEqual([`Bearer ${ADMIN_KEY}`]);

    // At the real server: the secret is dead; the key works, and only with a DPoP proof.
    const secretRequest = await fetch(`${provider.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(secretRequest.status).toBe(401);
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
    expect((await rig.worker.get(AuditLog).verify()).ok).toBe(true);
  }, 90_000);

  it('takes a successor through all six phases: registered and the original deleted through the admin API, no token held', async () => {
    const reg = await provider.register({ token_endpoint_auth_method: 'client_secret_basic' });
    twin.adopt(reg);
    const { id } = await rig.worker.get(ClientsService).create(
      aClient(serverId, {
        clientId: reg.client_id,
        clientSecret: reg.client_secret,
        tags: ['twin-successor'],
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'successor' },
      }) as never,
      operator,
    );
    await rig.campaign('twin-successor');
    // Registered through the twin (POST), so the successor's soak runs on a second client_id.
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    expect(waiting.successorClientId).toBeTruthy();
    expect(waiting.successorRegistrationAccessTokenCiphertext).toBeNull();
    expect(twin.calls).toContain('POST /admin/clients 201');

    // The operator moves the workload; the original is then deleted through the twin.
    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops', {
      auditDetail: { note: 'workload moved to the successor' },
    });
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done.registrationState).toMatchObject({ originalDeleted: true });
    expect(twin.calls).toContain('DELETE /admin/clients/:id 204');
    const journal = (await rig.ds.query(
      `SELECT operation, status FROM registration_exchanges WHERE client_row_id = $1 ORDER BY created_at`,
      [id],
    )) as { operation: string; status: string }[];
    expect(journal).toEqual([
      { operation: 'register', status: 'applied' },
      { operation: 'delete', status: 'applied' },
    ]);
  }, 90_000);
});
