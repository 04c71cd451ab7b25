import { Injectable } from '@nestjs/common';
import { awaitsCutoverConfirmation, Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { MigrationExecutor } from './migration-executor';
import { describeProbe, PhaseWork } from './phase-work';

/**
 * Phase 4: once an operator confirmed (or the client lets Keyshift switch by itself), the server
 * is switched (in place: the method becomes private_key_jwt in one update) and a key token request
 * must succeed. If it is refused, the gate fails the client, and the failed transition records
 * that the registration goes back to the secret (done by the server-revert job).
 */
@Injectable()
export class CutoverExecutor extends MigrationExecutor {
  readonly phase = Phase.Cutover;

  constructor(work: PhaseWork) {
    super(work);
  }

  protected async carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent> {
    if (awaitsCutoverConfirmation({ cutover: client.targetCutover, cutoverConfirmedAt: client.cutoverConfirmedAt })) {
      return {
        type: 'awaiting',
        reason:
          'awaiting operator confirmation that the workload signs with the key (POST /v1/clients/{id}/cutover/confirm)' +
          (this.work.realOverlap(client, server)
            ? ''
            : `; Keyshift then switches the method at ${server.name} in one update: there is no overlap window`),
        recheckAt: null,
      };
    }
    const keys = await this.work.publishedKeys(client, server);
    await this.work.converge(client, server, this.phase, keys);
    const probe = await this.work.probe(client, server, ProbeMethod.PrivateKeyJwt, false, this.phase);
    return {
      type: 'evidence',
      evidence: {
        kind: 'key_probe',
        ok: probe.outcome === ProbeOutcome.Ok,
        via: 'token_request',
        probeId: probe.id,
        detail: describeProbe(probe),
      },
    };
  }
}
