import { Injectable } from '@nestjs/common';
import { Clock, decodeCursor, DomainError, encodeCursor, ErrorCode, isUuid, newId, Page } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { Phase, PhaseState } from '@keyshift/domain';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { registrationClientUriProblem } from '../authorization-servers/registration-client-uri';
import { ClientEntity, CutoverMode, SecretStatus } from './client.entity';
import { auditSummary, ClientView, viewFromEntity, viewFromRow } from './client-view';
import { CreateClientDto, ListClientsQueryDto } from './clients.dto';
import { ClientsRepository } from './clients.repository';
import { secretContext } from './secret-context';

const DEFAULT_PAGE = 50;

/** Builds a new client row from validated input: secrets sealed, phase machine at its start. */
export function newClientEntity(input: CreateClientDto, cipher: EnvelopeCipher, now: Date, id = newId()): ClientEntity {
  return {
    id,
    authorizationServerId: input.authorizationServerId,
    clientId: input.clientId,
    authMethod: input.authMethod,
    secretCiphertext: cipher.encrypt(input.clientSecret, secretContext.clientSecret(id)),
    secretFingerprint: cipher.fingerprint(input.clientSecret),
    secretStatus: SecretStatus.Present,
    secretIssuedAt: input.secretIssuedAt ?? null,
    secretRevokedAt: null,
    secretRevocationProbeId: null,
    registrationAccessTokenCiphertext: input.registrationAccessToken
      ? cipher.encrypt(input.registrationAccessToken, secretContext.registrationAccessToken(id))
      : null,
    registrationAccessTokenFingerprint: input.registrationAccessToken
      ? cipher.fingerprint(input.registrationAccessToken)
      : null,
    registrationClientUri: input.registrationClientUri ?? null,
    targetAuthMethod: input.target.authMethod,
    targetSenderConstraint: input.target.senderConstraint,
    targetStrategy: input.target.strategy,
    targetCutover: input.target.cutover ?? CutoverMode.Confirm,
    owner: input.owner ?? null,
    tags: input.tags ?? [],
    phase: Phase.VendorCheck,
    state: PhaseState.Pending,
    paused: false,
    stateReason: null,
    nextCheckAt: now,
    leaseId: null,
    leaseUntil: null,
    attempts: 0,
    cutoverConfirmedAt: null,
    phaseEnteredAt: now,
    registrationState: {},
    successorClientId: null,
    successorRegistrationClientUri: null,
    successorRegistrationAccessTokenCiphertext: null,
    pendingServerChange: null,
    serverRevertTo: null,
    campaignId: null,
    campaignWave: null,
    jwksId: null,
    rotationPolicy: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

@Injectable()
export class ClientsService {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async create(input: CreateClientDto, by: Principal): Promise<ClientView> {
    const row = newClientEntity(input, this.cipher, this.clock.now());
    const view = viewFromEntity(row);
    try {
      await this.transactions.run(async (manager) => {
        const server = await this.clients.lockServerForNewClient(manager, input.authorizationServerId);
        if (!server) {
          throw DomainError.validation([
            { field: 'authorizationServerId', message: 'no authorization server has this id' },
          ]);
        }
        // Where the registration access token will be sent: only under the server's registration endpoint.
        const uriProblem = input.registrationClientUri
          ? registrationClientUriProblem(input.registrationClientUri, server)
          : null;
        if (uriProblem) throw DomainError.validation([{ field: 'registrationClientUri', message: uriProblem }]);
        await this.clients.insert(manager, row);
        await this.audit.append(manager, [
          {
            actor: actorOf(by),
            action: 'client.created',
            subjectType: 'client',
            subjectId: row.id,
            after: auditSummary(view),
          },
        ]);
      });
    } catch (error) {
      if (uniqueViolation(error) === 'UQ_clients_server_client_id') {
        throw new DomainError(
          ErrorCode.AlreadyExists,
          'this authorization server already has a client with this clientId',
          {
            field: 'clientId',
          },
        );
      }
      throw error;
    }
    return view;
  }

  async get(id: string): Promise<ClientView> {
    const row = await this.clients.findView(id);
    if (!row) throw DomainError.notFound('client', id);
    return viewFromRow(row);
  }

  /** Keyset pagination in id (creation) order; each filter has an index that serves it. */
  async list(query: ListClientsQueryDto): Promise<Page<ClientView>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = query.cursor ? decodeCursor(query.cursor, isUuid) : undefined;
    const rows = await this.clients.listViews(query, after, limit + 1);
    const items = rows.slice(0, limit).map(viewFromRow);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }
}
