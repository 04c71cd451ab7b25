import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, decodeCursor, DomainError, encodeCursor, ErrorCode, isUuid, newId, Page } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { uniqueViolation } from '@keyshift/database';
import { Phase, PhaseState } from '@keyshift/domain';
import { DataSource } from 'typeorm';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { registrationClientUriProblem, RegistrationUriServer } from '../authorization-servers/registration-client-uri';
import { ClientEntity, CutoverMode, SecretStatus } from './client.entity';
import {
  auditSummary,
  CLIENT_VIEW_COLUMNS,
  ClientView,
  ClientViewRow,
  viewFromEntity,
  viewFromRow,
} from './client-view';
import { CreateClientDto, ListClientsQueryDto } from './clients.dto';
import { clientFilterConditions } from './client-filter';
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async create(input: CreateClientDto, by: Principal): Promise<ClientView> {
    const row = newClientEntity(input, this.cipher, this.clock.now());
    const view = viewFromEntity(row);
    try {
      await this.dataSource.transaction(async (manager) => {
        const [server] = (await manager.query(
          'SELECT issuer, trusted_hosts AS "trustedHosts", capabilities FROM authorization_servers WHERE id = $1 FOR SHARE',
          [input.authorizationServerId],
        )) as RegistrationUriServer[];
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
        await manager.getRepository(ClientEntity).insert(row);
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
    const [row] = (await this.dataSource.query(`SELECT ${CLIENT_VIEW_COLUMNS} FROM clients WHERE id = $1`, [
      id,
    ])) as ClientViewRow[];
    if (!row) throw DomainError.notFound('client', id);
    return viewFromRow(row);
  }

  /** Keyset pagination in id (creation) order; each filter has an index that serves it. */
  async list(query: ListClientsQueryDto): Promise<Page<ClientView>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const params: unknown[] = [];
    const where = clientFilterConditions(query, params, 'clients');
    if (query.cursor) where.push(`clients.id > $${params.push(decodeCursor(query.cursor, isUuid))}`);
    params.push(limit + 1);
    const rows = (await this.dataSource.query(
      `SELECT ${CLIENT_VIEW_COLUMNS} FROM clients ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY id LIMIT $${params.length}`,
      params,
    )) as ClientViewRow[];
    const items = rows.slice(0, limit).map(viewFromRow);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }
}
