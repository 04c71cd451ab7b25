import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { batchedReads } from '@keyshift/database';
import { AuditLog } from '../audit/audit-log.service';
import { SealedClientValues, SealedField } from '../ports/sealed-client-values';
import { ClientsRepository } from './clients.repository';
import { secretContext } from './secret-context';

export type { SealedField };

const CONTEXT_OF: Record<SealedField, keyof typeof secretContext> = {
  client_secret: 'clientSecret',
  registration_access_token: 'registrationAccessToken',
  successor_registration_access_token: 'successorRegistrationAccessToken',
};

/**
 * The only way to open a client's sealed secret or registration access token. Each opening is
 * audited (who, which client, which field, why) and committed before the plaintext is handed to
 * `use`; the plaintext exists only for the duration of `use`.
 */
@Injectable()
export class ClientSecrets extends SealedClientValues {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {
    super();
  }

  /** Ciphertext reads from concurrent callers share one query (a probe burst opens thousands). */
  private readonly sealed = {
    client_secret: batchedReads<string, Buffer>((ids) => this.clients.sealedValues('secret_ciphertext', ids)),
    registration_access_token: batchedReads<string, Buffer>((ids) =>
      this.clients.sealedValues('registration_access_token_ciphertext', ids),
    ),
    successor_registration_access_token: batchedReads<string, Buffer>((ids) =>
      this.clients.sealedValues('successor_registration_access_token_ciphertext', ids),
    ),
  };

  async use<T>(
    clientRowId: string,
    field: SealedField,
    purpose: string,
    actor: string,
    use: (plaintext: string) => Promise<T>,
  ): Promise<T> {
    const sealed = await this.sealed[field].load(clientRowId);
    if (!sealed) {
      throw new DomainError(
        ErrorCode.TransitionNotAllowed,
        `client ${clientRowId} has no ${field.replace(/_/g, ' ')} (unknown, absent or shredded)`,
      );
    }
    const context = secretContext[CONTEXT_OF[field]](clientRowId);
    const opened = this.cipher.decrypt(sealed, context).toString('utf8');
    // The access is on the record before the plaintext is used.
    await this.audit.recordSoon({
      actor,
      action: 'client.secret_accessed',
      subjectType: 'client',
      subjectId: clientRowId,
      after: { field, purpose },
    });
    return use(opened);
  }
}
