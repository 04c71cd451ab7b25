import { Injectable } from '@nestjs/common';
import { Clock, newId } from '@keyshift/common';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { createLocalJWKSet, errors, JSONWebKeySet, jwtVerify } from 'jose';
import { AssertionAudience, AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { buildClientAssertion } from '../probes/client-assertion';
import { ClientSigningKeys } from '../probes/client-signing-keys';
import { ProbeEntity, ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { ProbesRepository } from '../probes/probes.repository';
import { HeldKeySet, heldKeyMismatch } from './held-key-set';

/** A published-key check: its probe row, and why it needs a person when the server holds another key set. */
export interface PublishedKeyVerdict {
  probe: ProbeEntity;
  mismatch: string | null;
}

/**
 * Where the server holds one method per client (in place, atomic), no token request can use the
 * key before cutover. What can be proven is what the server will do then: take the key set its
 * registration record holds for the client (its `jwks_uri`, fetched, or its inline `jwks`) and
 * verify an assertion against it. This does exactly that and records it as a probe row with
 * `via = published_jwks` (no tokens involved). A record holding no key, another jwks_uri, or a
 * jwks without the key is a mismatch: recorded as rejected, and the caller stops for a person.
 */
@Injectable()
export class PublishedKeyCheck {
  constructor(
    private readonly probes: ProbesRepository,
    private readonly http: OutboundHttp,
    private readonly keys: ClientSigningKeys,
    private readonly clock: Clock,
  ) {}

  async verify(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    held: HeldKeySet,
    expectedJwksUri: string,
    purpose: string,
  ): Promise<PublishedKeyVerdict> {
    const key = await this.keys.signingKey(client.id);
    let mismatch: string | null = null;
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
      mismatch = await heldKeyMismatch(held, { jwksUri: expectedJwksUri, kid: key.kid }, client.clientId);
      if (mismatch) throw new Rejected(mismatch);
      let jwks: JSONWebKeySet;
      if (held.kind === 'jwks_uri') {
        const res = await this.http.send({ method: 'GET', url: held.uri, headers: { accept: 'application/json' } });
        httpStatus = res.status;
        if (res.status !== 200) throw new Rejected(`the registered jwks_uri answered HTTP ${res.status}`);
        jwks = JSON.parse(res.body.toString('utf8')) as JSONWebKeySet;
      } else {
        jwks = (held as Extract<HeldKeySet, { kind: 'jwks' }>).jwks;
      }
      await jwtVerify(assertion, createLocalJWKSet(jwks), {
        issuer: client.clientId,
        subject: client.clientId,
        audience,
        algorithms: [key.alg],
      });
      detail = `assertion signed with ${key.kid} verified against ${describeHeld(held, server.name)}`;
    } catch (error) {
      if (error instanceof OutboundError) {
        outcome = error.kind === 'timeout' ? ProbeOutcome.Timeout : ProbeOutcome.Network;
        detail = error.message;
      } else if (error instanceof Rejected || error instanceof errors.JOSEError || error instanceof SyntaxError) {
        outcome = ProbeOutcome.Rejected;
        detail =
          error instanceof errors.JWKSNoMatchingKey
            ? `kid ${key?.kid} is not (yet) in ${describeHeld(held, server.name)}`
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
    await this.probes.insert(probe);
    return { probe, mismatch };
  }
}

/** Where the checked key set came from, as the probe's detail (and the evidence pack) states it. */
function describeHeld(held: HeldKeySet, serverName: string): string {
  switch (held.kind) {
    case 'jwks_uri':
      return held.source === 'server_record'
        ? `the jwks_uri ${serverName}'s registration record holds (${held.uri})`
        : `${held.uri}, the jwks_uri an operator confirmed registering at ${serverName} (its record cannot be read)`;
    case 'jwks':
      return `the jwks ${serverName}'s registration record holds`;
    case 'none':
      return `${serverName}'s registration record (no key)`;
  }
}

class Rejected extends Error {}
