import { Injectable } from '@nestjs/common';
import { Phase, PhaseEvent, revocationRefusal } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { ProbesRepository } from '../probes/probes.repository';
import { MigrationExecutor } from './migration-executor';
import { describeProbe, PhaseWork } from './phase-work';

/**
 * Phase 5, the point of no return. Refuses to act unless the client's last cutover probe was a
 * successful key token request. Revokes at the server (in place: the switch already stopped the
 * secret, and where the server still stores it the connector regenerates or deletes it; successor:
 * the original is deleted), then probes with the old secret: only a refusal
 * (invalid_client) is evidence. The transition that records it also shreds Keyshift's copy.
 */
@Injectable()
export class SecretRevocationExecutor extends MigrationExecutor {
  readonly phase = Phase.SecretRevocation;

  constructor(
    work: PhaseWork,
    private readonly probes: ProbesRepository,
  ) {
    super(work);
  }

  protected async carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent> {
    const refusal = revocationRefusal(await this.probes.lastCutoverProbe(client.id));
    if (refusal) return { type: 'needs_person', reason: refusal };
    const keys = await this.work.publishedKeys(client, server);
    await this.work.converge(client, server, this.phase, keys);
    const probe = await this.work.probe(client, server, client.authMethod as ProbeMethod, false, this.phase);
    return {
      type: 'evidence',
      evidence: {
        kind: 'secret_probe_after_revocation',
        rejected: probe.outcome === ProbeOutcome.Rejected && probe.errorCode === 'invalid_client',
        probeId: probe.id,
        detail: describeProbe(probe),
      },
    };
  }
}
