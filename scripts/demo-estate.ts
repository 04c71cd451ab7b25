/**
 * The demo estate, shared by `npm start` and `npm run bench:migration`: clients registered for
 * real at the embedded oidc-provider (RFC 7591), imported into Keyshift through its API, and a
 * campaign over them, watched until it ends. Only the public REST API is used, as an IAM team would.
 */

import { PHASE_ORDER } from '@keyshift/domain';

export interface KeyshiftApi {
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
}

export function keyshiftApi(base: string, token: string): KeyshiftApi {
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as T;
    },
  };
}

/** How a demo client is set up; most migrate, a few are broken the way real estates are. */
export type ClientShape =
  | { kind: 'in_place'; method: string; dpop: boolean }
  | { kind: 'successor'; method: string }
  /** Its registration access token was rotated outside Keyshift: key registration needs a person. */
  | { kind: 'stale_token'; method: string }
  /** Deleted at the server after the inventory was taken: key registration needs a person. */
  | { kind: 'deleted_at_server'; method: string };

export function demoShapes(count: number): ClientShape[] {
  return Array.from({ length: count }, (_, i): ClientShape => {
    const method = i % 5 < 3 ? 'client_secret_basic' : 'client_secret_post';
    if (i % 97 === 41) return { kind: 'stale_token', method };
    if (i % 131 === 77) return { kind: 'deleted_at_server', method };
    if (i % 10 === 7) return { kind: 'successor', method };
    return { kind: 'in_place', method, dpop: i % 4 !== 3 };
  });
}

/** Registers each shape at the AS and imports them all into Keyshift (one import request). */
export async function seedEstate(
  api: KeyshiftApi,
  issuer: string,
  serverId: string,
  shapes: ClientShape[],
  tag: string,
): Promise<void> {
  const rows: Record<string, unknown>[] = new Array(shapes.length);
  const deleteAfterImport: { uri: string; token: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < shapes.length; i = next++) {
        const shape = shapes[i];
        const res = await fetch(`${issuer}/reg`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_name: `demo-${i}`, token_endpoint_auth_method: shape.method }),
        });
        const reg = (await res.json()) as Record<string, string>;
        if (res.status !== 201) throw new Error(`registration at ${issuer} failed: ${JSON.stringify(reg)}`);
        if (shape.kind === 'deleted_at_server') {
          deleteAfterImport.push({ uri: reg.registration_client_uri, token: reg.registration_access_token });
        }
        rows[i] = {
          authorizationServerId: serverId,
          clientId: reg.client_id,
          authMethod: shape.method,
          clientSecret: reg.client_secret,
          registrationAccessToken:
            shape.kind === 'stale_token' ? 'rotated-outside-keyshift' : reg.registration_access_token,
          registrationClientUri: reg.registration_client_uri,
          target:
            shape.kind === 'successor'
              ? { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'successor' }
              : {
                  authMethod: 'private_key_jwt',
                  senderConstraint: shape.kind === 'in_place' && !shape.dpop ? 'none' : 'dpop',
                  strategy: 'in_place',
                  cutover: 'automatic',
                },
          owner: `team-${['payments', 'ledger', 'identity', 'search'][i % 4]}`,
          tags: [tag],
        };
      }
    }),
  );
  await api.call('POST', '/v1/clients/import', rows);
  for (const d of deleteAfterImport) {
    await fetch(d.uri, { method: 'DELETE', headers: { authorization: `Bearer ${d.token}` } });
  }
}

export interface CampaignProgress {
  id: string;
  status: string;
  pausedReason: string | null;
  releasedWave: number;
  waveCount: number;
  members: number;
  progress: {
    byPhase: Record<string, Record<string, number>>;
    failureRate: number;
    failures: { clientId: string; phase: string; state: string; reason: string | null }[];
  };
}

/** One line: the wave, and how many clients stand in each phase. */
export function progressLine(c: CampaignProgress): string {
  const counts = PHASE_ORDER.map((p) => {
    const n = Object.values(c.progress.byPhase[p] ?? {}).reduce((a, b) => a + b, 0);
    return `${p.replace('_', ' ')} ${n}`;
  });
  const failed = c.progress.failures.length;
  return `wave ${Math.max(c.releasedWave, 0) + 1}/${c.waveCount} | ${counts.join(' · ')}${failed ? ` | needs a person: ${failed}` : ''}`;
}

/**
 * Watches a campaign until it stops running, printing a line whenever it moves, and stands in for
 * the operator of successor clients: once such a client waits at cutover, it confirms the
 * workload moved (as the IAM team would after redeploying it with the new client_id).
 */
export async function watchCampaign(
  api: KeyshiftApi,
  campaignId: string,
  print: (line: string) => void,
  intervalMs = 2_000,
): Promise<CampaignProgress> {
  let last = '';
  for (;;) {
    const c = await api.call<CampaignProgress>('GET', `/v1/campaigns/${campaignId}`);
    const line = progressLine(c);
    if (line !== last) print(line);
    last = line;
    if (c.status !== 'running') return c;
    await confirmSuccessorCutovers(api, print);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function confirmSuccessorCutovers(api: KeyshiftApi, print: (line: string) => void): Promise<void> {
  const page = await api.call<{
    items: { id: string; clientId: string; target: { strategy: string }; cutoverConfirmedAt: string | null }[];
  }>('GET', '/v1/clients?phase=cutover&state=waiting&limit=200');
  let confirmed = 0;
  for (const c of page.items) {
    if (c.target.strategy !== 'successor' || c.cutoverConfirmedAt) continue;
    await api.call('POST', `/v1/clients/${c.id}/cutover/confirm`, {
      note: 'demo operator: workload now uses the successor client',
    });
    confirmed++;
  }
  if (confirmed) {
    print(`  the operator confirms ${confirmed} successor cutover(s): those workloads now use their new client_id`);
  }
}
