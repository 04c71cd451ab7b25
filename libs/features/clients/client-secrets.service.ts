import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DomainError, ErrorCode } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { DataSource } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from './client.entity';
import { secretContext } from './secret-context';

export type SealedField = 'client_secret' | 'registration_access_token';

/**
 * The only way to open a client's sealed secret or registration access token. Each opening is
 * audited (who, which client, which field, why) in the same transaction that reads the ciphertext,
 * and the plaintext exists only for the duration of `use`.
 */
@Injectable()
export class ClientSecrets {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  async use<T>(
    clientRowId: string,
    field: SealedField,
    purpose: string,
    actor: string,
    use: (plaintext: string) => Promise<T>,
  ): Promise<T> {
    const plaintext = await this.dataSource.transaction(async (manager) => {
      const row = await manager.getRepository(ClientEntity).findOne({
        where: { id: clientRowId },
        select: { id: true, secretCiphertext: true, registrationAccessTokenCiphertext: true },
      });
      if (!row) throw DomainError.notFound('client', clientRowId);
      const sealed = field === 'client_secret' ? row.secretCiphertext : row.registrationAccessTokenCiphertext;
      if (!sealed)
        throw new DomainError(
          ErrorCode.TransitionNotAllowed,
          `client has no ${field.replace(/_/g, ' ')} (absent or shredded)`,
        );
      const context =
        field === 'client_secret' ? secretContext.clientSecret(row.id) : secretContext.registrationAccessToken(row.id);
      const opened = this.cipher.decrypt(sealed, context).toString('utf8');
      await this.audit.append(manager, [
        {
          actor,
          action: 'client.secret_accessed',
          subjectType: 'client',
          subjectId: row.id,
          after: { field, purpose },
        },
      ]);
      return opened;
    });
    return use(plaintext);
  }
}
