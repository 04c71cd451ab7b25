import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, newId } from '@keyshift/common';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { createLocalJWKSet, errors, JSONWebKeySet, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { AssertionAudience, AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { buildClientAssertion } from '../probes/client-assertion';
import { ClientSigningKeys } from '../probes/client-signing-keys';
import { ProbeEntity, ProbeMethod, ProbeOutcome } from '../probes/probe.entity';

/**
 * Where the server holds one method per client (in place, atomic), no token request can use the
 * key before cutover. What can be proven is what the server will do then: fetch the jwks_uri it
 * has registered for the client and verify an assertion against it. This does exactly that, over
 * the network, and records it as a probe row with `via = published_jwks` (no tokens involved).
 */
@Injectable()
export class PublishedKeyCheck {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly http: OutboundHttp,
    private readonly keys: ClientSigningKeys,
    private readonly clock: Clock,
  ) {}

  async verify(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    jwksUri: string,
    purpose: string,
  ): Promise<ProbeEntity> {
    const key = await this.keys.signingKey(client.id);
    const started = performance.now();
    let outcome: ProbeOutcome = ProbeOutcome.Ok;
    let detail: string;
    let httpStatus: number | null = null;
    try {
      if (!key) throw new Rejected('the client has no active key Keyshift can sign with');
      const audience =
        server.assertionAudience === AssertionAudience.TokenEndpoint
          ? server.capabilities!.tokenEndpoint
          : server.issuer;
      const assertion = await buildClientAssertion({
        clientId: client.clientId,
        audience,
        key,
        serverMaxSeconds: server.maxAssertionSeconds,
        now: this.clock.now(),
      });
      const res = await this.http.send({ method: 'GET', url: jwksUri, headers: { accept: 'application/json' } });
      httpStatus = res.status;
      if (res.status !== 200) throw new Rejected(`the registered jwks_uri answered HTTP ${res.status}`);
      const jwks = JSON.parse(res.body.toString('utf8')) as JSONWebKeySet;
      await jwtVerify(assertion, createLocalJWKSet(jwks), {
        issuer: client.clientId,
        subject: client.clientId,
        audience,
        algorithms: [key.alg],
      });
      detail = `assertion signed with ${key.kid} verified against ${jwksUri}`;
    } catch (error) {
      if (error instanceof OutboundError) {
        outcome = error.kind === 'timeout' ? ProbeOutcome.Timeout : ProbeOutcome.Network;
        detail = error.message;
      } else if (error instanceof Rejected || error instanceof errors.JOSEError || error instanceof SyntaxError) {
        outcome = ProbeOutcome.Rejected;
        detail =
          error instanceof errors.JWKSNoMatchingKey
            ? `kid ${key?.kid} is not (yet) in the JWKS at ${jwksUri}`
            : (error as Error).message;
      } else {
        throw error;
      }
    }
    const probe: ProbeEntity = {
      id: newId(),
      clientRowId: client.id,
      authorizationServerId: server.id,
      method: ProbeMethod.PrivateKeyJwt,
      dpop: false,
      purpose,
      sweepId: null,
      attempt: 1,
      via: 'published_jwks',
      clientId: client.clientId,
      kid: key?.kid ?? null,
      outcome,
      errorCode: null,
      httpStatus,
      latencyMs: Math.round(performance.now() - started),
      tokenType: null,
      tokenBound: null,
      retryAfterSeconds: null,
      detail,
      createdAt: this.clock.now(),
    };
    await this.dataSource.getRepository(ProbeEntity).insert(probe);
    return probe;
  }
}

class Rejected extends Error {}
