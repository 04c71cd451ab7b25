import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DomainError } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { DataSource } from 'typeorm';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from './client.entity';
import { ClientView, viewFromEntity } from './client-view';
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  replace(clientRowId: string, input: ReplaceRegistrationAccessTokenDto, by: Principal): Promise<ClientView> {
    const registration = input.registration ?? RegistrationKind.Original;
    return this.dataSource.transaction(async (m) => {
      const clients = m.getRepository(ClientEntity);
      const client = await clients.findOne({ where: { id: clientRowId }, lock: { mode: 'pessimistic_write' } });
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
      await clients.update({ id: clientRowId }, { ...changes, version: () => 'version + 1' } as never);
      await this.audit.append(m, [
        {
          actor: actorOf(by),
          action: 'client.registration_access_token_replaced',
          subjectType: 'client',
          subjectId: clientRowId,
          after: { registration, note: input.note },
        },
      ]);
      return viewFromEntity(await clients.findOneByOrFail({ id: clientRowId }));
    });
  }
}
