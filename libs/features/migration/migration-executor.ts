import { Phase, PhaseEvent } from '@keyshift/domain';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { PhaseExecutor } from '../clients/phase-executor.port';
import { PhaseStop, PhaseWork } from './phase-work';

/** A phase executor for phases 2 to 6: loads the server, runs the phase, turns a PhaseStop into its event. */
export abstract class MigrationExecutor implements PhaseExecutor {
  abstract readonly phase: Phase;

  constructor(protected readonly work: PhaseWork) {}

  async run(client: ClientEntity): Promise<PhaseEvent> {
    try {
      return await this.carryOut(client, await this.work.server(client));
    } catch (error) {
      if (error instanceof PhaseStop) return error.event;
      throw error;
    }
  }

  protected abstract carryOut(client: ClientEntity, server: AuthorizationServerEntity): Promise<PhaseEvent>;
}
