import { Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode, MicroBatcher, newId } from '@keyshift/common';
import { batchedReads } from '@keyshift/database';
import { DpopProofAlg, SIGNING_ALGS, usableDpopAlg } from '@keyshift/domain';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { generateKeyPair, generateProof } from 'dpop';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AssertionAudience, AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { endpointProblem, endpointScope } from '../authorization-servers/endpoint-policy';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ClientsRepository } from '../clients/clients.repository';
import { SealedClientValues } from '../ports/sealed-client-values';
import { buildClientAssertion, SigningKey } from './client-assertion';
import { ClientSigningKeys } from './client-signing-keys';
import { ProbeEntity, ProbeMethod, ProbeOutcome } from './probe.entity';
import { ProbesRepository } from './probes.repository';
import { ClassifiedResponse, classifyTokenResponse } from './token-response';
import { ClientCredential, tokenRequest } from './token-request';

export interface ProbeRequest {
  clientRowId: string;
  method: ProbeMethod;
  dpop: boolean;
  purpose: string;
  sweepId?: string | null;
  attempt?: number;
  /** private_key_jwt: sign with this key rather than the active one. */
  keyId?: string;
}

/** A probe could not be attempted at all (no discovery yet, no key): nothing is recorded. */
export class ProbeNotPossible extends DomainError {
  constructor(
    message: string,
    readonly needsDiscovery = false,
  ) {
    super(ErrorCode.TransitionNotAllowed, message);
  }
}

const SERVER_CACHE_MS = 2_000;

const OUTBOUND_OUTCOME: Record<OutboundError['kind'], ProbeOutcome> = {
  timeout: ProbeOutcome.Timeout,
  network: ProbeOutcome.Network,
  forbidden: ProbeOutcome.Forbidden,
  too_large: ProbeOutcome.InvalidResponse,
};

/**
 * Makes one client_credentials token request as the client, with the method asked for, and
 * records the outcome as evidence. Plain HTTP through OutboundHttp rather than openid-client:
 * each probe needs the server's own audience profile, a classification of every failure mode
 * (which the library folds into exceptions), and all traffic must pass the outbound guard. The
 * OAuth parts that are easy to get wrong are libraries: jose signs assertions, dpop builds proofs.
 */
@Injectable()
export class ProbeRunner {
  /** Probe rows from concurrent jobs go in as one INSERT. */
  private readonly evidence = new MicroBatcher<ProbeEntity>((rows) => this.probes.insertMany(rows));
  /** Client reads from concurrent probes share one query. */
  private readonly clients = batchedReads<string, ProbedClient>(
    async (ids) => new Map((await this.clientRows.probedClients(ids)).map((r) => [r.id, r])),
  );
  /** Servers change rarely; a probe burst would otherwise read the same row thousands of times. */
  private readonly servers = new Map<string, { row: AuthorizationServerEntity; until: number }>();

  constructor(
    private readonly clientRows: ClientsRepository,
    private readonly serverRows: AuthorizationServersRepository,
    private readonly probes: ProbesRepository,
    private readonly http: OutboundHttp,
    private readonly secrets: SealedClientValues,
    private readonly keys: ClientSigningKeys,
    private readonly clock: Clock,
  ) {}

  async run(req: ProbeRequest): Promise<ProbeEntity> {
    const client = await this.clients.load(req.clientRowId);
    if (!client) throw DomainError.notFound('client', req.clientRowId);
    const server = await this.server(client.authorizationServerId);
    if (!server.capabilities)
      throw new ProbeNotPossible(`authorization server ${server.issuer} has not been discovered yet`, true);
    const tokenEndpoint = server.capabilities.tokenEndpoint;
    // Capabilities stored before endpoints were checked at discovery: never send a secret off the server's hosts.
    const endpointIssue = endpointProblem('token_endpoint', tokenEndpoint, endpointScope(server));
    if (endpointIssue) throw new ProbeNotPossible(`${endpointIssue}; the server is discovered again`, true);
    // The same table the vendor check judged the server by, so a server it passed is one we can sign for.
    const dpopAlg = req.dpop ? usableDpopAlg(server.capabilities.dpopSigningAlgs) : null;
    if (req.dpop && !dpopAlg)
      throw new ProbeNotPossible(
        `${server.issuer} advertises no DPoP proof alg Keyshift signs with (${SIGNING_ALGS.dpopProof.join(', ')})`,
      );

    const send = (credential: ClientCredential) => this.send(tokenEndpoint, credential, dpopAlg ?? undefined);
    let result: Sent;
    let key: SigningKey | null = null;
    // The key belongs to the successor registration where there is one; the secret to the original.
    const asClientId =
      req.method === ProbeMethod.PrivateKeyJwt ? (client.successorClientId ?? client.clientId) : client.clientId;
    if (req.method === ProbeMethod.PrivateKeyJwt) {
      key = await this.keys.signingKey(client.id, req.keyId);
      if (!key)
        throw new ProbeNotPossible(
          req.keyId
            ? `Keyshift holds no private key ${req.keyId} for the client`
            : 'the client has no active signing key whose private key Keyshift holds',
        );
      const audience = server.assertionAudience === AssertionAudience.TokenEndpoint ? tokenEndpoint : server.issuer;
      const assertion = await buildClientAssertion({
        clientId: asClientId,
        audience,
        key,
        serverMaxSeconds: server.maxAssertionSeconds,
        now: this.clock.now(),
      });
      result = await send({ method: req.method, clientId: asClientId, assertion });
    } else {
      result = await this.secrets.use(
        client.id,
        'client_secret',
        `probe ${req.method}`,
        SYSTEM_ACTORS.worker,
        (secret) => send({ method: req.method as ProbeMethod.ClientSecretBasic, clientId: client.clientId, secret }),
      );
    }

    const probe: ProbeEntity = {
      id: newId(),
      clientRowId: client.id,
      authorizationServerId: server.id,
      method: req.method,
      dpop: req.dpop,
      purpose: req.purpose,
      sweepId: req.sweepId ?? null,
      attempt: req.attempt ?? 1,
      kid: key?.kid ?? null,
      via: 'token_request',
      clientId: asClientId,
      outcome: result.outcome,
      errorCode: result.errorCode,
      httpStatus: result.httpStatus,
      latencyMs: result.latencyMs,
      tokenType: result.tokenType,
      tokenBound: req.dpop && result.outcome === ProbeOutcome.Ok ? result.tokenType?.toLowerCase() === 'dpop' : null,
      retryAfterSeconds: result.retryAfterSeconds,
      detail: result.detail,
      createdAt: this.clock.now(),
    };
    await this.evidence.add(probe);
    return probe;
  }

  /** Drops a cached server row (after its profile or discovery changed). */
  forgetServer(id: string): void {
    this.servers.delete(id);
  }

  private async server(id: string): Promise<AuthorizationServerEntity> {
    const cached = this.servers.get(id);
    if (cached && cached.until > Date.now()) return cached.row;
    const row = await this.serverRows.get(id);
    // Only discovered servers are cached, so a discovery landing is seen by the next probe.
    if (row.capabilities) this.servers.set(id, { row, until: Date.now() + SERVER_CACHE_MS });
    return row;
  }

  /** One token request; with DPoP, answers a use_dpop_nonce challenge once (RFC 9449 §8). */
  private async send(tokenEndpoint: string, credential: ClientCredential, dpopAlg?: DpopProofAlg): Promise<Sent> {
    const keyPair = dpopAlg ? await generateKeyPair(dpopAlg) : undefined;
    let nonce: string | undefined;
    for (let round = 0; ; round++) {
      const { headers, body } = tokenRequest(credential);
      if (keyPair) headers.dpop = await generateProof(keyPair, tokenEndpoint, 'POST', nonce);
      let sent: Sent;
      try {
        const res = await this.http.send({ method: 'POST', url: tokenEndpoint, headers, body });
        const classified = classifyTokenResponse(res.status, res.headers, res.body, this.clock.now());
        sent = { ...classified, httpStatus: res.status, latencyMs: Math.round(res.latencyMs) };
      } catch (error) {
        if (!(error instanceof OutboundError)) throw error;
        return {
          outcome: OUTBOUND_OUTCOME[error.kind],
          errorCode: null,
          tokenType: null,
          retryAfterSeconds: null,
          detail: error.message,
          dpopNonce: null,
          httpStatus: null,
          latencyMs: null,
        };
      }
      if (keyPair && round === 0 && sent.errorCode === 'use_dpop_nonce' && sent.dpopNonce) {
        nonce = sent.dpopNonce;
        continue;
      }
      return sent;
    }
  }
}

interface ProbedClient {
  id: string;
  clientId: string;
  successorClientId: string | null;
  authorizationServerId: string;
}

type Sent = ClassifiedResponse & { httpStatus: number | null; latencyMs: number | null };
