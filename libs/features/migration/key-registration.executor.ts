import { Injectable } from '@nestjs/common';
import { Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { MigrationExecutor } from './migration-executor';
import { describeProbe, PhaseWork } from './phase-work';

/**
 * Phase 2: the client's key is created and published at Keyshift's jwks_uri, then registered at
 * the server (in place: beside the secret method; successor: a new private_key_jwt registration).
 * Evidence: a private_key_jwt token request where the server allows one before cutover, else the
 * key verified against the JWKS the server has registered.
 */
@Injectable()
export class KeyRegistrationExecutor extends MigrationExecutor {
  readonly phase = Phase.KeyRegistration;

  constructor(work: PhaseWork) {
    super(work);
  }

  protected async carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent> {
    const keys = await this.work.publishedKeys(client, server);
    await this.work.converge(client, server, this.phase, keys);
    const real = this.work.realOverlap(client, server);
    const probe = real
      ? await this.work.probe(client, server, ProbeMethod.PrivateKeyJwt, false, this.phase)
      : await this.work.verifyPublished(client, server, keys, this.phase);
    return {
      type: 'evidence',
      evidence: {
        kind: 'key_probe',
        ok: probe.outcome === ProbeOutcome.Ok,
        via: probe.via,
        probeId: probe.id,
        detail: describeProbe(probe),
      },
    };
  }
}
