import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, errors as undiciErrors, request } from 'undici';
import { isForbiddenAddress, normalizeHost } from './address-policy';

export type OutboundFailure = 'forbidden' | 'timeout' | 'network' | 'too_large';

/** A request that did not produce a response. The message names host and path only, never query or credentials. */
export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole-exchange deadline; defaults to the configured outbound timeout. */
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  latencyMs: number;
}

export interface OutboundLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

/** Where a URL may be fetched from, judged on its text: scheme, credentials, literal addresses. */
export function urlProblem(url: URL, allowlist: readonly string[]): string | null {
  const host = normalizeHost(url.hostname);
  const allowlisted = allowlist.includes(host);
  if (url.username || url.password) return 'URL must not carry credentials';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) return 'only https URLs are allowed';
  if (!allowlisted && isIP(host) && isForbiddenAddress(host)) return `address ${host} is not publicly routable`;
  return null;
}

/** What to show of a URL in an error or log: scheme, host and path, never the query string. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * The one way Keyshift talks to authorization servers. Enforces the outbound rules: https only,
 * no loopback/private/link-local/metadata address (checked on the resolved address, at connect
 * time, so DNS rebinding cannot slip past), unless the host is allowlisted; no redirects; a
 * deadline and a response size cap on every call. Built on undici's request API.
 */
@Injectable()
export class OutboundHttp implements OnApplicationShutdown {
  private readonly allowlist: readonly string[];
  private readonly limits: OutboundLimits;
  private readonly agent: Agent;

  constructor(@Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig) {
    this.allowlist = config.outbound.allowlist;
    this.limits = { timeoutMs: config.outbound.timeoutMs, maxResponseBytes: config.outbound.maxResponseBytes };
    const allowlist = this.allowlist;
    this.agent = new Agent({
      connect: {
        // Every resolved address is checked before the socket opens.
        lookup: (hostname: string, options: object, callback: (...args: unknown[]) => void) => {
          dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
            if (error) return callback(error);
            const usable = allowlist.includes(normalizeHost(hostname))
              ? addresses
              : addresses.filter((a) => !isForbiddenAddress(a.address));
            if (usable.length === 0) {
              return callback(
                new OutboundError('forbidden', `${hostname} resolves only to addresses that are not publicly routable`),
              );
            }
            const all = (options as { all?: boolean }).all;
            return all ? callback(null, usable) : callback(null, usable[0].address, usable[0].family);
          });
        },
      } as object,
      headersTimeout: this.limits.timeoutMs,
      bodyTimeout: this.limits.timeoutMs,
      connections: 64,
    });
  }

  async send(req: OutboundRequest): Promise<OutboundResponse> {
    const url = new URL(req.url);
    const problem = urlProblem(url, this.allowlist);
    if (problem) throw new OutboundError('forbidden', `${problem}: ${describeUrl(url)}`);
    const started = performance.now();
    const timeoutMs = req.timeoutMs ?? this.limits.timeoutMs;
    try {
      const res = await request(url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
        // undici's request() never follows redirects (only its redirect interceptor does): a 3xx comes back as is.
      });
      const body = await readCapped(res.body, this.limits.maxResponseBytes, url);
      return { status: res.statusCode, headers: res.headers, body, latencyMs: performance.now() - started };
    } catch (error) {
      throw classify(error, url, timeoutMs);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number, url: URL): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new OutboundError('too_large', `response from ${describeUrl(url)} exceeds ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function classify(error: unknown, url: URL, timeoutMs: number): OutboundError {
  if (error instanceof OutboundError) return error;
  const where = describeUrl(url);
  const e = error as { name?: string; code?: string; cause?: unknown };
  if (e.cause instanceof OutboundError) return e.cause;
  if (
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new OutboundError('timeout', `${where} did not answer within ${timeoutMs} ms`);
  }
  return new OutboundError('network', `${where} could not be reached (${e.code ?? e.name ?? 'error'})`);
}
