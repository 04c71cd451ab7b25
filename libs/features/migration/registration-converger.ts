import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions } from '@keyshift/database';
import { Phase, retiresSecretAtServer } from '@keyshift/domain';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity, PendingServerChange, RegistrationState } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { Registrar, RegistrarOutcome } from '../connectors/registrar';
import { RegistrationChange } from '../connectors/server-connector';
import {
  applied,
  desiredRegistration,
  recordedRegistration,
  registrationChange,
  WantedRegistration,
} from './desired-registration';

/** Where the client's keys are published, for a registration that reads them from Keyshift. */
export interface PublishedKeys {
  jwksUri: string;
  alg: string;
  kids: string[];
}

/** Called before each request to the server with how many it is about to send (the request budget). */
export type Spend = (requests: number) => Promise<void>;

export type ConvergeOutcome =
  { kind: 'in_sync' | 'changed'; state: RegistrationState } | { kind: 'awaiting_operator'; reason: string };

/**
 * Moves a client's registrations at its server to what a phase needs (desiredRegistration), one
 * connector call per difference, each recorded in `registration_state` in the transaction of the
 * change's audit event. Idempotent: what is recorded as done is not done again, so a retried or
 * duplicated job costs nothing at the server. The same call puts things back after a rollback.
 */
@Injectable()
export class RegistrationConverger {
  constructor(
    private readonly registrar: Registrar,
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  /** Keyshift's public JWKS URL for a client. */
  jwksUri(jwksId: string): string {
    return `${this.config.api.publicUrl}/jwks/${jwksId}.json`;
  }

  async converge(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    phase: Phase,
    keys: PublishedKeys | null,
    spend: Spend = async () => undefined,
  ): Promise<ConvergeOutcome> {
    // An exchange a killed worker left open is settled first: its token adopted (or the client
    // stopped with the reason), and the state it recorded read back before anything is compared.
    if (await this.registrar.recover(client, server)) {
      const fresh = await this.clients.registrationStateOf(client.id);
      if (fresh) client.registrationState = fresh;
    }
    const desired = desiredRegistration(phase, {
      strategy: client.targetStrategy,
      sourceMethod: client.authMethod,
      senderConstraint: client.targetSenderConstraint,
      secretOutlivesSwitch: retiresSecretAtServer(this.registrar.capabilities(server).secretRetirement),
    });
    let state = client.registrationState;
    let changed = false;

    if (desired.original === 'deleted') {
      if (!state.originalDeleted) {
        const next = { ...state, originalDeleted: true };
        const outcome = await this.perform(client, 'delete the original registration', next, async (planned) => {
          await spend(1);
          return this.registrar.remove(client, server, 'original', planned);
        });
        if (outcome) return outcome;
        state = next;
        changed = true;
      }
    } else {
      const change = this.change(recordedRegistration(state, client.authMethod), desired.original, keys);
      if (change) {
        const next = applied(state, change, keys?.kids ?? []);
        const outcome = await this.perform(client, describeChange(change), next, async (planned) => {
          await spend(2); // RFC 7592 is a full replacement: read, then write
          return this.registrar.update(client, server, 'original', change, planned);
        });
        if (outcome) return outcome;
        state = next;
        changed = true;
      }
    }

    const successor = await this.convergeSuccessor(client, server, desired.successor, state, keys, spend);
    if (successor.kind === 'awaiting_operator') return successor;
    return { kind: changed || successor.kind === 'changed' ? 'changed' : 'in_sync', state: successor.state };
  }

  private async convergeSuccessor(
    client: ClientEntity,
    server: AuthorizationServerEntity,
    wanted: WantedRegistration | null,
    state: RegistrationState,
    keys: PublishedKeys | null,
    spend: Spend,
  ): Promise<ConvergeOutcome> {
    const successorId = (await this.clients.registrationsOf(client.id))?.successor?.clientId ?? null;
    if (!wanted) {
      if (!successorId) return { kind: 'in_sync', state };
      // A rolled-back key registration: the successor goes, and Keyshift forgets it.
      const next = { ...state, successorDpopBound: undefined };
      await spend(1);
      await this.registrar.remove(client, server, 'successor', next);
      return { kind: 'changed', state: next };
    }
    if (!keys) throw new Error('a successor registration needs the client keys published first');
    if (!successorId) {
      await spend(2);
      const template = await this.registrar.read(client, server, 'original');
      delete template.client_id;
      delete template.jwks;
      const next = { ...state, successorDpopBound: wanted.dpopBound };
      await this.registrar.register(
        client,
        server,
        {
          ...template,
          client_name: `${typeof template.client_name === 'string' ? template.client_name : client.clientId} (Keyshift successor)`,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: keys.alg,
          jwks_uri: keys.jwksUri,
          dpop_bound_access_tokens: wanted.dpopBound,
        },
        next,
      );
      return { kind: 'changed', state: next };
    }
    if ((state.successorDpopBound ?? false) === wanted.dpopBound) return { kind: 'in_sync', state };
    const next = { ...state, successorDpopBound: wanted.dpopBound };
    await spend(2);
    await this.registrar.update(client, server, 'successor', { dpop_bound_access_tokens: wanted.dpopBound }, next);
    return { kind: 'changed', state: next };
  }

  private change(
    recorded: WantedRegistration,
    wanted: WantedRegistration,
    keys: PublishedKeys | null,
  ): RegistrationChange | null {
    if (wanted.keys && !keys) throw new Error('the client keys must be published before they are registered');
    return registrationChange(recorded, wanted, keys ?? { jwksUri: '', alg: '' });
  }

  /**
   * One change through the connector. Applied: `next` is recorded with the change's audit event.
   * Handed to an operator (manual connector): waits until they confirm exactly this change, then
   * records it as theirs. Returns null once the change is recorded, or the outcome to wait on.
   */
  private async perform(
    client: ClientEntity,
    description: string,
    next: RegistrationState,
    call: (planned: RegistrationState) => Promise<RegistrarOutcome>,
  ): Promise<ConvergeOutcome | null> {
    const pending = client.pendingServerChange;
    if (pending?.description === description && pending.confirmedAt) {
      await this.transactions.run(async (tx) => {
        await this.clients.recordOperatorChange(tx, client.id, next);
        await this.audit.append(tx, [
          {
            actor: SYSTEM_ACTORS.worker,
            action: 'client.registration_changed_by_operator',
            subjectType: 'client',
            subjectId: client.id,
            after: { change: description, confirmedBy: pending.confirmedBy ?? null, confirmedAt: pending.confirmedAt },
          },
        ]);
      });
      return null;
    }
    const result = await call(next);
    if (result.kind === 'applied') return null;
    const instructions = result.instructions;
    if (pending?.description !== description) {
      const request: PendingServerChange = {
        description,
        instructions,
        requestedAt: this.clock.now().toISOString(),
      };
      await this.transactions.run(async (tx) => {
        await this.clients.setPendingServerChange(tx, client.id, request);
        await this.audit.append(tx, [
          {
            actor: SYSTEM_ACTORS.worker,
            action: 'client.server_change_requested',
            subjectType: 'client',
            subjectId: client.id,
            after: { change: description, instructions },
          },
        ]);
      });
    }
    return {
      kind: 'awaiting_operator',
      reason: `awaiting an operator: ${instructions.join(' ')} (POST /v1/clients/{id}/server-change/confirm)`,
    };
  }
}

/** A change in words, the same each time it is computed: a manual confirmation is matched against it. */
function describeChange(change: RegistrationChange): string {
  return Object.entries(change)
    .map(([field, value]) => `${field}=${value === null ? '(removed)' : String(value)}`)
    .join(', ');
}
