import { Injectable } from '@nestjs/common';
import { Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ProbeEntity, ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { ProbesRepository } from '../probes/probes.repository';
import { MigrationExecutor } from './migration-executor';
import { describeProbe, PhaseWork } from './phase-work';

/**
 * Phase 3: one soak round per run, the old secret and the new key each probed; the gate counts the
 * successes since the phase began. Where the server holds one method per client the key cannot
 * authenticate before cutover: it is verified against the published JWKS instead, and the client
 * says there is no overlap window.
 */
@Injectable()
export class ParallelAuthExecutor extends MigrationExecutor {
  readonly phase = Phase.ParallelAuth;

  constructor(
    work: PhaseWork,
    private readonly probes: ProbesRepository,
  ) {
    super(work);
  }

  protected async carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent> {
    const keys = await this.work.publishedKeys(client, server);
    await this.work.converge(client, server, this.phase, keys);
    const real = this.work.realOverlap(client, server);
    const secret = await this.work.probe(client, server, client.authMethod as ProbeMethod, false, this.phase);
    const key = real
      ? await this.work.probe(client, server, ProbeMethod.PrivateKeyJwt, false, this.phase)
      : await this.work.verifyPublished(client, server, keys, this.phase);
    const counts = await this.successes(client);
    return {
      type: 'evidence',
      evidence: {
        kind: 'parallel_soak',
        secretSuccesses: counts.secret,
        keySuccesses: counts.key,
        windowOpenedAt: client.phaseEnteredAt,
        rejection: rejection('secret', secret) ?? rejection('key', key),
        note: real
          ? undefined
          : `no overlap window: ${server.name} holds one auth method per client, so the key is verified against its registered JWKS now and proven by a token request at cutover`,
      },
    };
  }

  private successes(client: ClientEntity): Promise<{ secret: number; key: number }> {
    return this.probes.okCountsSince(client.id, this.phase, client.phaseEnteredAt);
  }
}

function rejection(credential: string, probe: ProbeEntity): string | undefined {
  return probe.outcome === ProbeOutcome.Ok ? undefined : `${credential} probe ${describeProbe(probe)}`;
}
