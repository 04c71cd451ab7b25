import { RequestBudget } from '@keyshift/queue';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { CampaignsRepository } from '../campaigns/campaigns.repository';
import { ClientEntity } from '../clients/client.entity';
import { Registrar } from '../connectors/registrar';
import { ConnectorError } from '../connectors/server-connector';
import { ProbeEntity, ProbeMethod, ProbeOutcome, TRANSIENT_OUTCOMES } from '../probes/probe.entity';
import { ProbeNotPossible, ProbeRunner } from '../probes/probe-runner.service';
import { FirstKey, KeyNotReady } from './first-key';
import { HeldKeySet, heldKeySet } from './held-key-set';
import { PublishedKeyCheck } from './published-key-check';
import { PublishedKeys, RegistrationConverger } from './registration-converger';

/** Ends a phase's work early with the event to report (a wait, a fault, a need for a person). */
export class PhaseStop extends Error {
  constructor(readonly event: PhaseEvent) {
    super(event.type);
  }
}

/**
 * What the phase executors share: the server and its connector, the client's published keys,
 * moving the registration, probing, and the request budget every call to the server spends.
 * Faults come back as PhaseStop carrying the phase-machine event that describes them.
 */
@Injectable()
export class PhaseWork {
  private readonly budgets = new Map<string, { perSecond: number; until: number }>();

  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly campaigns: CampaignsRepository,
    private readonly converger: RegistrationConverger,
    private readonly registrar: Registrar,
    private readonly firstKey: FirstKey,
    private readonly probes: ProbeRunner,
    private readonly publishedCheck: PublishedKeyCheck,
    private readonly budget: RequestBudget,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  server(client: ClientEntity): Promise<AuthorizationServerEntity> {
    return this.servers.get(client.authorizationServerId);
  }

  /**
   * Whether the key can be proven by a real token request before cutover: a successor
   * registration, or a server that holds a secret and a key side by side.
   */
  realOverlap(client: ClientEntity, server: AuthorizationServerEntity): boolean {
    return client.targetStrategy === 'successor' || this.registrar.capabilities(server).overlappingMethods;
  }

  /** The client's active key (made the first time) and where Keyshift publishes it. */
  async publishedKeys(client: ClientEntity, server: AuthorizationServerEntity): Promise<PublishedKeys> {
    try {
      const key = await this.firstKey.ensure(client.id, server);
      return { jwksUri: this.converger.jwksUri(key.jwksId), alg: key.alg, kids: [key.kid] };
    } catch (error) {
      if (error instanceof KeyNotReady) throw new PhaseStop(this.awaiting(error.message));
      throw error;
    }
  }

  /** Moves the server to what `phase` needs; stops the phase while an operator has to act. */
  async converge(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    phase: Phase,
    keys: PublishedKeys | null,
  ): Promise<void> {
    try {
      const outcome = await this.converger.converge(client, server, phase, keys, (n) => this.spend(client, server, n));
      if (outcome.kind === 'awaiting_operator') {
        throw new PhaseStop({ type: 'awaiting', reason: outcome.reason, recheckAt: null });
      }
      client.registrationState = outcome.state;
    } catch (error) {
      if (error instanceof ConnectorError) throw new PhaseStop(this.connectorFault(error));
      throw error;
    }
  }

  /** One token request as the client; transient outcomes stop the phase for a retry. */
  async probe(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    method: ProbeMethod,
    dpop: boolean,
    purpose: string,
  ): Promise<ProbeEntity> {
    await this.spend(client, server, 1);
    let probe: ProbeEntity;
    try {
      probe = await this.probes.run({ clientRowId: client.id, method, dpop, purpose });
    } catch (error) {
      if (!(error instanceof ProbeNotPossible)) throw error;
      throw new PhaseStop(
        error.needsDiscovery ? this.transient(error.message) : { type: 'needs_person', reason: error.message },
      );
    }
    if (TRANSIENT_OUTCOMES.has(probe.outcome)) {
      throw new PhaseStop(this.transient(`${purpose} probe: ${describeProbe(probe)}`, probe.retryAfterSeconds));
    }
    if (probe.outcome === ProbeOutcome.InvalidResponse || probe.outcome === ProbeOutcome.Forbidden) {
      throw new PhaseStop({ type: 'needs_person', reason: `${purpose} probe: ${describeProbe(probe)}` });
    }
    return probe;
  }

  /**
   * Verifies the key against the key set the server's registration record holds (in place,
   * atomic): read through the connector, so a server that never registered the key cannot pass.
   * A record with no key or another key set stops the phase for a person; transient faults retry.
   */
  async verifyPublished(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    keys: PublishedKeys,
    purpose: string,
  ): Promise<ProbeEntity> {
    const held = await this.heldKeys(client, server, keys);
    const { probe, mismatch } = await this.publishedCheck.verify(client, server, held, keys.jwksUri, purpose);
    if (mismatch) throw new PhaseStop({ type: 'needs_person', reason: `${purpose}: ${mismatch}` });
    if (TRANSIENT_OUTCOMES.has(probe.outcome))
      throw new PhaseStop(this.transient(`${purpose}: ${describeProbe(probe)}`));
    return probe;
  }

  /** What the server holds for the client's keys: its registration record, else what an operator confirmed. */
  private async heldKeys(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    keys: PublishedKeys,
  ): Promise<HeldKeySet> {
    if (!this.registrar.capabilities(server).readable) {
      return { kind: 'jwks_uri', uri: keys.jwksUri, source: 'operator_confirmation' };
    }
    await this.spend(client, server, 1);
    try {
      return heldKeySet(await this.registrar.read(client, server, 'original'));
    } catch (error) {
      if (error instanceof ConnectorError) throw new PhaseStop(this.connectorFault(error));
      throw error;
    }
  }

  transient(reason: string, retryAfterSeconds?: number | null): PhaseEvent {
    const seconds = retryAfterSeconds ?? this.config.evidenceRecheckSeconds;
    return { type: 'transient_failure', reason, retryAt: new Date(this.clock.now().getTime() + seconds * 1000) };
  }

  awaiting(reason: string): PhaseEvent {
    return {
      type: 'awaiting',
      reason,
      recheckAt: new Date(this.clock.now().getTime() + this.config.evidenceRecheckSeconds * 1000),
    };
  }

  private connectorFault(error: ConnectorError): PhaseEvent {
    return error.transient ? this.transient(error.message) : { type: 'needs_person', reason: error.message };
  }

  /** Spends from the client's campaign budget for the server, else from the server's own probe rate. */
  private async spend(client: ClientEntity, server: AuthorizationServerEntity, requests: number): Promise<void> {
    if (!client.campaignId) {
      return this.budget.spend(`server:${server.id}`, server.probeRatePerSecond, requests);
    }
    const perSecond = await this.campaignBudget(client.campaignId, server);
    await this.budget.spend(`campaign:${client.campaignId}:${server.id}`, perSecond, requests);
  }

  private async campaignBudget(campaignId: string, server: AuthorizationServerEntity): Promise<number> {
    const cached = this.budgets.get(campaignId);
    if (cached && cached.until > Date.now()) return cached.perSecond;
    const perSecond = (await this.campaigns.serverBudgetPerSecond(campaignId)) ?? server.probeRatePerSecond;
    this.budgets.set(campaignId, { perSecond, until: Date.now() + 5_000 });
    return perSecond;
  }
}

export function describeProbe(probe: ProbeEntity): string {
  const code = probe.errorCode ? ` (${probe.errorCode}${probe.detail ? `: ${probe.detail}` : ''})` : '';
  return `${probe.outcome}${code || (probe.detail ? ` (${probe.detail})` : '')}`;
}
