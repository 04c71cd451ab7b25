import { Injectable } from '@nestjs/common';
import { DomainError } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Transactions } from '@keyshift/database';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from './client.entity';
import { ClientView, viewFromEntity } from './client-view';
import { ClientsRepository } from './clients.repository';
import { RegistrationKind, ReplaceRegistrationAccessTokenDto } from './clients.dto';
import { secretContext } from './secret-context';

/**
 * The way out of a lost registration access token: an operator stores the token the server's
 * administrator issued, sealed like any secret, and audited without it. The client then resumes
 * (`POST /v1/clients/{id}/resume`); the phase reads the registration with the new token first,
 * so a wrong token blocks again with the server's refusal rather than changing anything.
 */
@Injectable()
export class RegistrationTokenReplacements {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  replace(clientRowId: string, input: ReplaceRegistrationAccessTokenDto, by: Principal): Promise<ClientView> {
    const registration = input.registration ?? RegistrationKind.Original;
    return this.transactions.run(async (m) => {
      const client = await this.clients.lockForUpdate(m, clientRowId);
      if (!client) throw DomainError.notFound('client', clientRowId);
      if (registration === RegistrationKind.Successor && !client.successorClientId) {
        throw DomainError.validation([{ field: 'registration', message: 'this client has no successor registration' }]);
      }
      const changes: Partial<ClientEntity> =
        registration === RegistrationKind.Original
          ? {
              registrationAccessTokenCiphertext: this.cipher.encrypt(
                input.registrationAccessToken,
                secretContext.registrationAccessToken(clientRowId),
              ),
              registrationAccessTokenFingerprint: this.cipher.fingerprint(input.registrationAccessToken),
            }
          : {
              successorRegistrationAccessTokenCiphertext: this.cipher.encrypt(
                input.registrationAccessToken,
                secretContext.successorRegistrationAccessToken(clientRowId),
              ),
            };
      await this.clients.update(m, clientRowId, { ...changes, version: () => 'version + 1' } as never);
      await this.audit.append(m, [
        {
          actor: actorOf(by),
          action: 'client.registration_access_token_replaced',
          subjectType: 'client',
          subjectId: clientRowId,
          after: { registration, note: input.note },
        },
      ]);
      return viewFromEntity((await this.clients.findById(clientRowId, m))!);
    });
  }
}
