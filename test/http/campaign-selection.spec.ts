import { RedisConnection } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * Issue 12: `selector: []` was stored as `{}` and started a campaign over every eligible client. A
 * campaign must never take more than the operator meant: an empty selector is refused, and a dry
 * run shows who a selector takes (per phase and server) without creating anything.
 */
describe('campaign selection over HTTP', () => {
  let api: TestApi;
  let admin: { Authorization: string };
  let north: { id: string; name: string };
  let south: { id: string; name: string };
  const ids: Record<string, string> = {};

  const campaign = (selector: unknown, overrides: Record<string, unknown> = {}) => ({
    name: 'selection test',
    selector,
    canarySize: 1,
    waveSize: 2,
    maxFailureRate: 0.2,
    ...overrides,
  });
  const db = () => api.app.get(DataSource);
  const count = async (sql: string) => (await db().query(sql))[0].n as number;
  /** Everything a campaign creation would leave behind: rows, members, audit events, Redis keys. */
  const footprint = async () => {
    const redis = api.app.get(RedisConnection);
    let keys = 0;
    let cursor = '0';
    do {
      const [next, batch] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys += batch.length;
    } while (cursor !== '0');
    return {
      campaigns: await count('SELECT count(*)::int AS n FROM campaigns'),
      members: await count('SELECT count(*)::int AS n FROM clients WHERE campaign_id IS NOT NULL'),
      events: await count('SELECT count(*)::int AS n FROM audit_events'),
      keys,
    };
  };

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.as(api.adminToken);
    north = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body;
    south = (await api.http().post('/v1/authorization-servers').set(admin).send(anAuthorizationServer())).body;
    // north: payments x3 (one of them in key_registration, blocked), identity x1; south: payments x1,
    // identity x2. Every client is tagged owner-<owner>; n-pay-1 and s-idn-1 are tagged pci as well.
    const estate: [string, string, string, string, string?][] = [
      ['n-pay-1', north.id, 'payments', 'vendor_check'],
      ['n-pay-2', north.id, 'payments', 'vendor_check'],
      ['n-pay-3', north.id, 'payments', 'key_registration', 'blocked'],
      ['n-idn-1', north.id, 'identity', 'vendor_check'],
      ['s-pay-1', south.id, 'payments', 'parallel_auth'],
      ['s-idn-1', south.id, 'identity', 'vendor_check'],
      ['s-idn-2', south.id, 'identity', 'completed'],
    ];
    const pci = new Set(['n-pay-1', 's-idn-1']);
    for (const [name, serverId, owner, phase, state] of estate) {
      const tags = [`owner-${owner}`, ...(pci.has(name) ? ['pci'] : [])];
      const res = await api
        .http()
        .post('/v1/clients')
        .set(admin)
        .send(aClient(serverId, { clientId: name, owner, tags }))
        .expect(201);
      ids[name] = res.body.id;
      if (phase !== 'vendor_check')
        await db().query('UPDATE clients SET phase = $2 WHERE id = $1', [res.body.id, phase]);
      if (state) await db().query('UPDATE clients SET state = $2 WHERE id = $1', [res.body.id, state]);
    }
  });
  afterAll(() => api.close());

  it.each([
    ['{}', {}],
    ['[]', []],
    ['empty tags', { tags: [] }],
    ['null', null],
    ['with only nulls', { owner: null, authorizationServerId: null, phase: null, tags: null }],
  ])('refuses the selector %s with 400 naming selector, creating nothing (dry run or not)', async (_, selector) => {
    const before = await footprint();
    for (const path of ['/v1/campaigns', '/v1/campaigns?dryRun=true']) {
      const res = await api.http().post(path).set(admin).send(campaign(selector));
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain('selector');
    }
    expect(await footprint()).toEqual(before);
  });

  it('refuses dryRun values other than true and false', async () => {
    const res = await api
      .http()
      .post('/v1/campaigns?dryRun=yes')
      .set(admin)
      .send(campaign({ owner: 'payments' }));
    expect(res.status).toBe(400);
    expect(res.body.details.fields).toEqual([{ field: 'dryRun', message: 'must be true or false' }]);
  });

  it.each([
    [
      'owner',
      { owner: 'payments' },
      { vendor_check: 2, key_registration: 1, parallel_auth: 1 },
      { north: 3, south: 1 },
      ['n-pay-1', 'n-pay-2', 'n-pay-3', 's-pay-1'],
    ],
    [
      'phase',
      { phase: 'vendor_check' },
      { vendor_check: 4 },
      { north: 3, south: 1 },
      ['n-pay-1', 'n-pay-2', 'n-idn-1', 's-idn-1'],
    ],
    [
      'server (completed clients are never taken)',
      { authorizationServerId: 'south' },
      { parallel_auth: 1, vendor_check: 1 },
      { south: 2 },
      ['s-pay-1', 's-idn-1'],
    ],
    [
      'owner and server',
      { owner: 'payments', authorizationServerId: 'north' },
      { vendor_check: 2, key_registration: 1 },
      { north: 3 },
      ['n-pay-1', 'n-pay-2', 'n-pay-3'],
    ],
    ['tags', { tags: ['owner-identity'] }, { vendor_check: 2 }, { north: 1, south: 1 }, ['n-idn-1', 's-idn-1']],
    ['a selector that matches no one', { owner: 'nobody' }, {}, {}, []],
  ])(
    'a dry run by %s answers the members per phase and server, creating nothing',
    async (_, selector, byPhase, byServer, members) => {
      const servers: Record<string, { id: string; name: string }> = { north, south };
      const sel = { ...selector } as Record<string, unknown>;
      if (typeof sel.authorizationServerId === 'string')
        sel.authorizationServerId = servers[sel.authorizationServerId].id;
      const before = await footprint();
      const res = await api.http().post('/v1/campaigns?dryRun=true').set(admin).send(campaign(sel));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        dryRun: true,
        members: members.length,
        waveCount: members.length === 0 ? 0 : members.length === 1 ? 1 : 1 + Math.ceil((members.length - 1) / 2),
        byPhase,
        byAuthorizationServer: Object.entries(byServer)
          .map(([key, n]) => ({ authorizationServerId: servers[key].id, name: servers[key].name, members: n }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        firstMemberIds: members.map((m) => ids[m]).sort(),
      });
      expect(await footprint()).toEqual(before);
    },
  );

  /**
   * The client list and a campaign's selector take the same criteria under the same names (the one
   * client filter): each row is a selector, once as GET /v1/clients query and once as a campaign's
   * selector, with the exact clients each must take. The list shows every client; a campaign takes
   * only those not completed and not in another open campaign.
   */
  describe('the client list and campaigns select alike', () => {
    const serverIds = () => ({ north: north.id, south: south.id });
    /** Client names (keys of `ids`) a GET /v1/clients with this query lists, sorted. */
    const listed = async (query: string): Promise<string[]> => {
      const res = await api.http().get(`/v1/clients?limit=500&${query}`).set(admin);
      expect(res.status).toBe(200);
      const byId = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
      return (res.body.items as { id: string }[]).map((c) => byId.get(c.id) ?? c.id).sort();
    };
    /** Creates a campaign (not a dry run), answers the names of its members, then completes it so they are free again. */
    const taken = async (selector: Record<string, unknown>): Promise<string[]> => {
      const res = await api.http().post('/v1/campaigns').set(admin).send(campaign(selector));
      expect(res.status).toBe(201);
      const rows = (await db().query('SELECT id FROM clients WHERE campaign_id = $1', [res.body.id])) as {
        id: string;
      }[];
      expect(res.body.members).toBe(rows.length);
      await db().query(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, [res.body.id]);
      const byId = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
      return rows.map((r) => byId.get(r.id) ?? r.id).sort();
    };

    it.each([
      [
        'owner',
        'owner=payments',
        { owner: 'payments' },
        ['n-pay-1', 'n-pay-2', 'n-pay-3', 's-pay-1'],
        ['n-pay-1', 'n-pay-2', 'n-pay-3', 's-pay-1'],
      ],
      [
        'phase',
        'phase=vendor_check',
        { phase: 'vendor_check' },
        ['n-idn-1', 'n-pay-1', 'n-pay-2', 's-idn-1'],
        ['n-idn-1', 'n-pay-1', 'n-pay-2', 's-idn-1'],
      ],
      [
        'authorization server (a campaign never takes completed clients)',
        'authorizationServerId=south',
        { authorizationServerId: 'south' },
        ['s-idn-1', 's-idn-2', 's-pay-1'],
        ['s-idn-1', 's-pay-1'],
      ],
      ['state', 'state=blocked', { state: 'blocked' }, ['n-pay-3'], ['n-pay-3']],
      ['tags (one)', 'tags=pci', { tags: ['pci'] }, ['n-pay-1', 's-idn-1'], ['n-pay-1', 's-idn-1']],
      [
        'tags (all of several, comma-separated)',
        'tags=owner-payments,pci',
        { tags: ['owner-payments', 'pci'] },
        ['n-pay-1'],
        ['n-pay-1'],
      ],
      [
        'tags (all of several, repeated)',
        'tags=pci&tags=owner-identity',
        { tags: ['pci', 'owner-identity'] },
        ['s-idn-1'],
        ['s-idn-1'],
      ],
      [
        'tag (the older name)',
        'tag=owner-identity',
        { tag: 'owner-identity' },
        ['n-idn-1', 's-idn-1', 's-idn-2'],
        ['n-idn-1', 's-idn-1'],
      ],
      [
        'tag and tags together (all must match)',
        'tag=pci&tags=owner-payments',
        { tag: 'pci', tags: ['owner-payments'] },
        ['n-pay-1'],
        ['n-pay-1'],
      ],
      [
        'owner and server',
        'owner=identity&authorizationServerId=north',
        { owner: 'identity', authorizationServerId: 'north' },
        ['n-idn-1'],
        ['n-idn-1'],
      ],
      [
        'phase and server',
        'phase=vendor_check&authorizationServerId=north',
        { phase: 'vendor_check', authorizationServerId: 'north' },
        ['n-idn-1', 'n-pay-1', 'n-pay-2'],
        ['n-idn-1', 'n-pay-1', 'n-pay-2'],
      ],
    ])('by %s', async (_, query, selector, list, members) => {
      const servers = serverIds();
      const resolve = (v: unknown) => (v === 'north' || v === 'south' ? servers[v] : v);
      const q = query.replace(/=(north|south)\b/, (_m, k: 'north' | 'south') => `=${servers[k]}`);
      const sel = Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, resolve(v)]));
      expect(await listed(q)).toEqual(list);
      expect(await taken(sel)).toEqual(members);
    });

    it.each([
      ['owner=payments', ['n-pay-1', 'n-pay-2', 'n-pay-3', 's-pay-1']],
      ['tags=owner-payments,pci', ['n-pay-1']],
      ['tags=pci&tags=owner-identity', ['s-idn-1']],
      ['tag=owner-identity', ['n-idn-1', 's-idn-1', 's-idn-2']],
      ['phase=vendor_check&authorizationServerId=north', ['n-idn-1', 'n-pay-1', 'n-pay-2']],
    ])('the estate report with %s covers the clients the list shows', async (query, names) => {
      const q = query.replace(/=(north|south)\b/, (_m, k: 'north' | 'south') => `=${serverIds()[k]}`);
      const res = await api.http().get(`/v1/reports/estate?${q}`).set(admin);
      expect(res.status).toBe(200);
      const byId = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
      const covered = (res.body.clients as { id: string }[]).map((c) => byId.get(c.id) ?? c.id).sort();
      expect(covered).toEqual(names);
      expect(await listed(q)).toEqual(names);
      expect(res.body.summary.totals.clients).toBe(names.length);
    });

    it('a selector matching only completed clients is refused, and the list still shows them', async () => {
      expect(await listed('phase=completed')).toEqual(['s-idn-2']);
      const res = await api
        .http()
        .post('/v1/campaigns')
        .set(admin)
        .send(campaign({ phase: 'completed' }));
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toEqual(['selector']);
    });

    it('a campaign does not take clients already in an open campaign; the list still shows them', async () => {
      const first = await api
        .http()
        .post('/v1/campaigns')
        .set(admin)
        .send(campaign({ tags: ['pci'] }));
      expect(first.status).toBe(201);
      const second = await api
        .http()
        .post('/v1/campaigns?dryRun=true')
        .set(admin)
        .send(campaign({ owner: 'identity' }));
      expect(second.body.firstMemberIds).toEqual([ids['n-idn-1']]);
      expect(await listed('owner=identity')).toEqual(['n-idn-1', 's-idn-1', 's-idn-2']);
      await db().query(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, [first.body.id]);
    });

    it.each([
      ['/v1/clients?phase=nope', 'phase'],
      ['/v1/clients?state=nope', 'state'],
      ['/v1/clients?authorizationServerId=north', 'authorizationServerId'],
      [`/v1/clients?tags=${'x'.repeat(65)}`, 'tags'],
      [`/v1/clients?tags=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`, 'tags'],
      ['/v1/clients?tags=a,,b', 'tags'],
    ])('the list refuses %s with 400 naming %s', async (path, field) => {
      const res = await api.http().get(path).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toEqual([
        expect.stringMatching(new RegExp(`^${field}`)),
      ]);
    });

    it.each([
      [{ phase: 'nope' }, 'selector.phase'],
      [{ state: 'nope' }, 'selector.state'],
      [{ authorizationServerId: 'north' }, 'selector.authorizationServerId'],
      [{ tags: 'pci' }, 'selector.tags'],
      [{ tag: ['pci'] }, 'selector.tag'],
    ])('a campaign refuses the selector %j with 400 naming %s', async (selector, field) => {
      const before = await footprint();
      const res = await api.http().post('/v1/campaigns').set(admin).send(campaign(selector));
      expect(res.status).toBe(400);
      expect(res.body.details.fields.map((f: { field: string }) => f.field)).toEqual([
        expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}`)),
      ]);
      expect(await footprint()).toEqual(before);
    });
  });

  it('a dry run takes the same members the campaign then takes', async () => {
    const selector = { owner: 'payments', authorizationServerId: north.id };
    const preview = await api.http().post('/v1/campaigns?dryRun=true').set(admin).send(campaign(selector));
    const created = await api.http().post('/v1/campaigns?dryRun=false').set(admin).send(campaign(selector));
    expect(created.status).toBe(201);
    const taken = (await db().query('SELECT id FROM clients WHERE campaign_id = $1 ORDER BY id', [
      created.body.id,
    ])) as {
      id: string;
    }[];
    expect(taken.map((r) => r.id)).toEqual(preview.body.firstMemberIds);
    expect(created.body).toMatchObject({ members: preview.body.members, waveCount: preview.body.waveCount });
    // Now in an open campaign: a second dry run no longer counts them.
    const again = await api.http().post('/v1/campaigns?dryRun=true').set(admin).send(campaign(selector));
    expect(again.body.members).toBe(0);
  });

  it('a viewer may not dry-run a campaign', async () => {
    const viewer = (await api.http().post('/v1/api-tokens').set(admin).send({ name: 'sel-viewer', role: 'viewer' }))
      .body.token as string;
    const res = await api
      .http()
      .post('/v1/campaigns?dryRun=true')
      .set(api.as(viewer))
      .send(campaign({ owner: 'payments' }));
    expect(res.status).toBe(403);
  });
});
