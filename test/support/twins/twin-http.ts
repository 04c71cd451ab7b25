import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** A twin's answer: status, JSON body (or none), extra headers. */
export interface TwinAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TwinRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface TwinServer {
  url: string;
  /** Every call answered, as `METHOD /path-template status`. */
  calls: string[];
  /** The next `count` requests are answered with `status` (and Retry-After for a 429) before any handling. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

/**
 * The HTTP shell every vendor admin-API twin shares: JSON in and out, a call log with ids replaced
 * by a template (`template`), injected failures (5xx, 429 with Retry-After), loopback only.
 */
export async function startTwinServer(
  handle: (req: TwinRequest) => Promise<TwinAnswer>,
  template: (path: string) => string,
): Promise<TwinServer> {
  const calls: string[] = [];
  const failures: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://twin');
      const raw = Buffer.concat(chunks).toString('utf8');
      const injected = failures.shift();
      const answered: Promise<TwinAnswer> =
        injected !== undefined
          ? Promise.resolve<TwinAnswer>({
              status: injected,
              body: { error: injected === 429 ? 'too many requests' : 'unavailable' },
              headers: injected === 429 ? { 'retry-after': '1' } : undefined,
            })
          : Promise.resolve()
              .then(() => (raw && req.headers['content-type']?.includes('json') ? (JSON.parse(raw) as unknown) : raw))
              .then((body) =>
                handle({
                  method: req.method ?? 'GET',
                  path: url.pathname,
                  query: url.searchParams,
                  headers: req.headers,
                  body,
                }),
              );
      answered
        .then(({ status, body, headers }) => {
          calls.push(`${req.method} ${template(url.pathname)} ${status}`);
          res
            .writeHead(status, { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers })
            .end(body !== undefined ? JSON.stringify(body) : undefined);
        })
        .catch((error: unknown) => {
          calls.push(`${req.method} ${template(url.pathname)} 500`);
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    failNext: (status, count = 1) => failures.push(...Array<number>(count).fill(status)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** RFC 7592 calls to the real provider behind a twin (the twin holds each registration's token). */
export async function toProvider(
  method: string,
  url: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
