import { Clock } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { OutboundHttp, OutboundRequest } from '@keyshift/outbound';
import { RequestBudget } from '@keyshift/queue';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import {
  adminCredentialContext,
  AuthorizationServerEntity,
} from '@keyshift/features/authorization-servers/authorization-server.entity';
import { AuthorizationServersRepository } from '@keyshift/features/authorization-servers/authorization-servers.repository';
import { AdminSessions } from '@keyshift/features/connectors/admin-sessions';
import { ConnectorError } from '@keyshift/features/connectors/server-connector';

const cipher = new EnvelopeCipher(Buffer.alloc(32, 7));

function setup(
  answers: { status: number; body: object }[],
  kind: 'client_credentials' | 'bearer' = 'client_credentials',
) {
  let now = Date.parse('2026-12-07T12:00:00Z');
  const clock = { now: () => new Date(now) } as Clock;
  const requests: OutboundRequest[] = [];
  const http = {
    send: async (req: OutboundRequest) => {
      requests.push(req);
      await new Promise((r) => setTimeout(r, 5));
      const a = answers.shift()!;
      return { status: a.status, headers: {}, body: Buffer.from(JSON.stringify(a.body)), latencyMs: 1 };
    },
  } as unknown as OutboundHttp;
  const audited: unknown[] = [];
  const audit = { recordSoon: async (e: unknown) => void audited.push(e) } as unknown as AuditLog;
  const server = {
    id: 'srv-1',
    version: 1,
    connectorAdminUrl: 'https://kc.example/admin/realms/acme',
    adminCredential: { kind, clientId: kind === 'bearer' ? null : 'keyshift-admin', scope: null },
    capabilities: { tokenEndpoint: 'https://kc.example/realms/acme/protocol/openid-connect/token' },
  } as unknown as AuthorizationServerEntity;
  const sealed = cipher.encrypt('s3cret/with:colon', adminCredentialContext('srv-1'));
  const servers = { sealedAdminCredential: async () => sealed } as unknown as AuthorizationServersRepository;
  const spent: string[] = [];
  const budget = {
    spend: async (key: string, points: number, requests: number, seconds: number) =>
      void spent.push(`${key} ${requests} of ${points}/${seconds}s`),
  } as unknown as RequestBudget;
  const sessions = new AdminSessions(servers, cipher, http, audit, clock, budget);
  return { sessions, server, requests, audited, spent, advance: (ms: number) => (now += ms) };
}

describe('AdminSessions', () => {
  it('exchanges the service account at the token endpoint once, shares it, and refreshes it before it expires', async () => {
    const t = setup([
      { status: 200, body: { access_token: 'tok-1', expires_in: 60 } },
      { status: 200, body: { access_token: 'tok-2', expires_in: 60 } },
    ]);
    const access = t.sessions.access(t.server)!;
    expect(access.url).toBe('https://kc.example/admin/realms/acme');
    // Concurrent callers share one token request.
    expect(await Promise.all([access.authorization(), access.authorization(), access.authorization()])).toEqual(
      Array(3).fill('Bearer tok-1'),
    );
    expect(t.requests).toHaveLength(1);
    const [req] = t.requests;
    expect(req).toMatchObject({
      method: 'POST',
      url: 'https://kc.example/realms/acme/protocol/openid-connect/token',
      body: 'grant_type=client_credentials',
    });
    // RFC 6749 §2.3.1: both halves form-encoded before Basic.
    expect(Buffer.from(req.headers!.authorization.slice(6), 'base64').toString()).toBe(
      'keyshift-admin:s3cret%2Fwith%3Acolon',
    );
    t.advance(47_000);
    expect(await access.authorization()).toBe('Bearer tok-1');
    t.advance(2_000); // 49 s of 60: inside the last fifth, so a new one
    expect(await access.authorization()).toBe('Bearer tok-2');
    // Each opening of the sealed credential is audited, without the secret.
    expect(t.audited).toHaveLength(2);
    expect(JSON.stringify(t.audited)).not.toContain('s3cret');
  });

  it('a refused header is dropped, so the next call fetches a fresh token', async () => {
    const t = setup([
      { status: 200, body: { access_token: 'tok-1', expires_in: 300 } },
      { status: 200, body: { access_token: 'tok-2', expires_in: 300 } },
    ]);
    const access = t.sessions.access(t.server)!;
    expect(await access.authorization()).toBe('Bearer tok-1');
    access.refused();
    expect(await access.authorization()).toBe('Bearer tok-2');
  });

  it('a changed credential (a new server version) is never served from the old cache', async () => {
    const t = setup([
      { status: 200, body: { access_token: 'tok-1', expires_in: 300 } },
      { status: 200, body: { access_token: 'tok-2', expires_in: 300 } },
    ]);
    expect(await t.sessions.access(t.server)!.authorization()).toBe('Bearer tok-1');
    expect(await t.sessions.access({ ...t.server, version: 2 })!.authorization()).toBe('Bearer tok-2');
  });

  it('says what went wrong without the secret: refused (needs a person) or unavailable (retry)', async () => {
    const refused = setup([{ status: 401, body: { error: 'invalid_client' } }]);
    const error = (await refused.sessions
      .access(refused.server)!
      .authorization()
      .catch((e: unknown) => e)) as ConnectorError;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.transient).toBe(false);
    expect(error.message).toBe(
      'admin token request: the service account was refused (invalid_client); check connector.credential',
    );
    const down = setup([{ status: 503, body: {} }]);
    await expect(down.sessions.access(down.server)!.authorization()).rejects.toMatchObject({ transient: true });
  });

  it('a bearer credential is sent as it is, with no token request', async () => {
    const t = setup([], 'bearer');
    expect(await t.sessions.access(t.server)!.authorization()).toBe('Bearer s3cret/with:colon');
    expect(t.requests).toHaveLength(0);
  });

  it("spends the server's admin budget per call, per minute, and waits out a hold-off first", async () => {
    const t = setup([]);
    const limited = t.sessions.access({ ...t.server, adminCallsPerMinute: 600 } as AuthorizationServerEntity)!;
    await limited.spend();
    expect(t.spent).toEqual(['admin:srv-1 1 of 600/60s']);
    await t.sessions.access(t.server)!.spend(); // no budget set: nothing spent
    expect(t.spent).toHaveLength(1);
    limited.holdOff(150);
    const started = Date.now();
    await limited.spend();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it.each([
    [undefined, 47_999, 48_000], // no expires_in: Keycloak's 60 s assumed, a fifth held back
    [10, 4_999, 5_000], // short tokens: at least 5 s held back
    [3600, 3_539_999, 3_540_000], // long tokens: at most 60 s held back
  ])(
    'with expires_in %s, reuses the token until %s ms and fetches anew at %s ms',
    async (expiresIn, reused, renewed) => {
      const t = setup([
        { status: 200, body: { access_token: 'tok-1', ...(expiresIn ? { expires_in: expiresIn } : {}) } },
        { status: 200, body: { access_token: 'tok-2', expires_in: 60 } },
      ]);
      const access = t.sessions.access(t.server)!;
      await access.authorization();
      t.advance(reused);
      expect(await access.authorization()).toBe('Bearer tok-1');
      t.advance(renewed - reused);
      expect(await access.authorization()).toBe('Bearer tok-2');
    },
  );

  it('asks for the configured scope, and names what is wrong with an answer it cannot use', async () => {
    const scoped = setup([{ status: 200, body: { access_token: 't', expires_in: 60 } }]);
    await scoped.sessions
      .access({
        ...scoped.server,
        adminCredential: { kind: 'client_credentials', clientId: 'a', scope: 'okta.apps.read okta.apps.manage' },
      } as never)!
      .authorization();
    expect(scoped.requests[0].body).toBe('grant_type=client_credentials&scope=okta.apps.read+okta.apps.manage');
    expect(scoped.requests[0].headers).toMatchObject({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });

    const tokenless = setup([{ status: 200, body: { token_type: 'Bearer' } }]);
    await expect(tokenless.sessions.access(tokenless.server)!.authorization()).rejects.toMatchObject({
      message: 'admin token request: HTTP 200',
      transient: false,
    });
    const limited = setup([{ status: 429, body: { error: 'slow_down' } }]);
    await expect(limited.sessions.access(limited.server)!.authorization()).rejects.toMatchObject({
      message: 'admin token request: HTTP 429 (slow_down)',
      transient: true,
    });
    const undiscovered = setup([]);
    await expect(
      undiscovered.sessions.access({ ...undiscovered.server, capabilities: null } as never)!.authorization(),
    ).rejects.toMatchObject({ transient: true, message: expect.stringContaining('token endpoint') });
    expect(undiscovered.requests).toHaveLength(0);
  });

  it('a static token cannot be renewed; an admin token can', () => {
    const t = setup([], 'bearer');
    expect(t.sessions.access(t.server)!.renewable).toBe(false);
    expect(setup([]).sessions.access(setup([]).server)!.renewable).toBe(true);
  });

  it('no admin URL, no admin access', () => {
    const t = setup([]);
    expect(t.sessions.access({ ...t.server, connectorAdminUrl: null })).toBeNull();
  });
});
