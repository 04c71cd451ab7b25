import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { formatHostPort, HostPort, KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, errors as undiciErrors, request } from 'undici';
import { isForbiddenAddress, normalizeHost } from './address-policy';
import { destinationOf, isAllowlisted } from './allowlist';

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
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
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
export function urlProblem(url: URL, allowlist: readonly HostPort[]): string | null {
  const host = normalizeHost(url.hostname);
  const allowlisted = isAllowlisted(allowlist, destinationOf(url));
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
 * time, so DNS rebinding cannot slip past), unless the destination's host:port is allowlisted; no
 * redirects; a deadline and a response size cap on every call. Built on undici's request API.
 */
@Injectable()
export class OutboundHttp implements OnApplicationShutdown {
  private readonly allowlist: readonly HostPort[];
  private readonly limits: OutboundLimits;
  private readonly agent: Agent;

  constructor(@Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig, @Optional() @Inject(LOGGER) logger?: Logger) {
    this.allowlist = config.outbound.allowlist;
    const wildcards = this.allowlist.filter((e) => e.port === '*').map(formatHostPort);
    if (wildcards.length > 0) {
      logger?.warn(
        { entries: wildcards },
        'KEYSHIFT_OUTBOUND_ALLOWLIST allows every port of these hosts (host:*), which is meant for tests and demos: name exact host:port entries in production',
      );
    }
    this.limits = { timeoutMs: config.outbound.timeoutMs, maxResponseBytes: config.outbound.maxResponseBytes };
    const allowlist = this.allowlist;
    // Two connectors: one that connects to any resolved address, used only for a destination
    // (scheme, host and port) the allowlist names, and one that drops every address that is not
    // publicly routable. The lookup alone sees no port, so the choice is made per connection here.
    const anyAddress = buildConnector({ timeout: this.limits.timeoutMs });
    const publicOnly = buildConnector({ timeout: this.limits.timeoutMs, lookup: publicAddressLookup } as object);
    this.agent = new Agent({
      connect: (options, callback) => {
        const port = Number(options.port) || (options.protocol === 'http:' ? 80 : 443);
        const to = { protocol: options.protocol, hostname: options.hostname, port };
        return isAllowlisted(allowlist, to) ? anyAddress(options, callback) : publicOnly(options, callback);
      },
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

/** A DNS lookup that answers only publicly routable addresses, checked before the socket opens. */
function publicAddressLookup(hostname: string, options: object, callback: (...args: unknown[]) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error);
    const usable = addresses.filter((a) => !isForbiddenAddress(a.address));
    if (usable.length === 0) {
      return callback(
        new OutboundError('forbidden', `${hostname} resolves only to addresses that are not publicly routable`),
      );
    }
    const all = (options as { all?: boolean }).all;
    return all ? callback(null, usable) : callback(null, usable[0].address, usable[0].family);
  });
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
