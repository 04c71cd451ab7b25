import { Injectable } from '@nestjs/common';
import { Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { MigrationExecutor } from './migration-executor';
import { describeProbe, PhaseWork } from './phase-work';

/**
 * Phase 6 (DPoP; the machine skips it when no sender constraint is asked for): the server is set
 * to require DPoP-bound tokens (dpop_bound_access_tokens), then two key token requests: one with a
 * DPoP proof must yield token_type DPoP, one without must be refused.
 */
@Injectable()
export class SenderConstraintExecutor extends MigrationExecutor {
  readonly phase = Phase.SenderConstraint;

  constructor(work: PhaseWork) {
    super(work);
  }

  protected async carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent> {
    const keys = await this.work.publishedKeys(client, server);
    await this.work.converge(client, server, this.phase, keys);
    const bound = await this.work.probe(client, server, ProbeMethod.PrivateKeyJwt, true, this.phase);
    const unbound = await this.work.probe(client, server, ProbeMethod.PrivateKeyJwt, false, this.phase);
    return {
      type: 'evidence',
      evidence: {
        kind: 'dpop_probe',
        boundTokenIssued: bound.outcome === ProbeOutcome.Ok && bound.tokenBound === true,
        unboundRefused: unbound.outcome === ProbeOutcome.Rejected,
        probeId: bound.id,
        detail: `with proof: ${describeProbe(bound)}; without: ${describeProbe(unbound)}`,
      },
    };
  }
}
