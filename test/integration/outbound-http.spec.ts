import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';
import { isForbiddenAddress, OutboundError, OutboundHttp } from '@keyshift/outbound';
import { loadConfig } from '@keyshift/config';
import { randomBytes } from 'node:crypto';

function outbound(allowlist: string, extra: Record<string, string> = {}): OutboundHttp {
  return new OutboundHttp(
    loadConfig({
      KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
      KEYSHIFT_ADMIN_TOKEN: 'x'.repeat(32),
      KEYSHIFT_OUTBOUND_ALLOWLIST: allowlist,
      KEYSHIFT_OUTBOUND_TIMEOUT_MS: '300',
      KEYSHIFT_OUTBOUND_MAX_RESPONSE_BYTES: '1000',
      ...extra,
    }),
  );
}

describe('outbound address policy', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.100.100.200', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['not-an-ip', true],
    ['93.184.216.34', false],
    ['2606:2800:220:1:248:1893:25c8:1946', false],
  ])('%s forbidden=%s', (address, forbidden) => {
    expect(isForbiddenAddress(address)).toBe(forbidden);
  });
});

describe('OutboundHttp against local servers', () => {
  let server: Server;
  let port: number;
  const clients: OutboundHttp[] = [];
  const make = (allowlist: string) => {
    const c = outbound(allowlist);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect') return void res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' }).end();
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1000);
      if (req.url === '/big') return void res.end('x'.repeat(5000));
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.onApplicationShutdown()));
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: OutboundError) => e,
    );

  it('reaches an allowlisted loopback host over http', async () => {
    const res = await make(`127.0.0.1:${port}`).send({ method: 'GET', url: `http://127.0.0.1:${port}/` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ ok: true });
  });

  it('refuses plain http, loopback, private and metadata addresses when not allowlisted, before connecting', async () => {
    const c = make('');
    for (const url of [
      `http://example.com/`,
      `https://127.0.0.1:${port}/`,
      'https://10.0.0.8/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/',
    ]) {
      expect(await failure(c.send({ method: 'GET', url }))).toMatchObject({ kind: 'forbidden' });
    }
  });

  it('checks the resolved address, not just the URL text', async () => {
    // localhost is not allowlisted here; it resolves to loopback and is refused at connect time.
    const e = await failure(make(`127.0.0.1:${port}`).send({ method: 'GET', url: `https://localhost:${port}/` }));
    expect(e).toMatchObject({ kind: 'forbidden', message: expect.stringContaining('not publicly routable') });
  });

  it('allows a host only on the ports its entries name, refusing any other port before connecting', async () => {
    // A Redis-like listener on the same host: it must never see a connection.
    let connections = 0;
    const other = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const c = make(`127.0.0.1:${port},localhost:${port}`);
      expect((await c.send({ method: 'GET', url: `http://127.0.0.1:${port}/` })).status).toBe(200);
      expect((await c.send({ method: 'GET', url: `http://localhost:${port}/` })).status).toBe(200);
      for (const url of [
        `http://127.0.0.1:${otherPort}/`,
        `https://127.0.0.1:${otherPort}/`,
        `http://localhost:${otherPort}/`,
        `https://localhost:${otherPort}/`, // a hostname: refused on its resolved address, per port
        `http://127.0.0.1/`,
      ]) {
        expect(await failure(c.send({ method: 'POST', url, body: 'client_secret=hunter2' }))).toMatchObject({
          kind: 'forbidden',
        });
      }
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it('reads a bare host as https on port 443 only', async () => {
    const c = make('127.0.0.1,localhost');
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `https://127.0.0.1:${port}/`,
      `https://localhost:${port}/`,
      'http://127.0.0.1/',
    ]) {
      expect(await failure(c.send({ method: 'GET', url }))).toMatchObject({ kind: 'forbidden' });
    }
    // https on 443 is let through to the socket (nothing listens there: a network failure, not a refusal).
    for (const url of ['https://127.0.0.1/', 'https://localhost/']) {
      expect(await failure(c.send({ method: 'GET', url }))).not.toMatchObject({ kind: 'forbidden' });
    }
  });

  it('warns at boot about an any-port entry, and only then', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as never;
    const base = {
      KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
      KEYSHIFT_ADMIN_TOKEN: 'x'.repeat(32),
    };
    for (const allowlist of ['127.0.0.1:4000,idp.internal', '127.0.0.1:*']) {
      clients.push(new OutboundHttp(loadConfig({ ...base, KEYSHIFT_OUTBOUND_ALLOWLIST: allowlist }), logger));
    }
    expect(warnings).toEqual([[{ entries: ['127.0.0.1:*'] }, expect.stringContaining('tests and demos')]]);
  });

  it('does not follow redirects', async () => {
    const res = await make(`127.0.0.1:${port}`).send({ method: 'GET', url: `http://127.0.0.1:${port}/redirect` });
    expect(res.status).toBe(302);
  });

  it('enforces the deadline and the response size cap', async () => {
    const c = make(`127.0.0.1:${port}`);
    expect(await failure(c.send({ method: 'GET', url: `http://127.0.0.1:${port}/slow` }))).toMatchObject({
      kind: 'timeout',
    });
    expect(await failure(c.send({ method: 'GET', url: `http://127.0.0.1:${port}/big` }))).toMatchObject({
      kind: 'too_large',
    });
  });

  it('never puts a query string or credentials in its errors', async () => {
    const e = await failure(
      make('127.0.0.1:1').send({ method: 'GET', url: 'http://127.0.0.1:1/token?client_secret=hunter2' }),
    );
    expect(e).toMatchObject({ kind: 'network' });
    expect(e!.message).not.toContain('hunter2');
    const creds = await failure(
      make(`127.0.0.1:${port}`).send({ method: 'GET', url: `http://user:hunter2@127.0.0.1:${port}/` }),
    );
    expect(creds!.message).not.toContain('hunter2');
  });
});
