import { Injectable } from '@nestjs/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Tx } from '@keyshift/database';
import type { RegistrationState } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { RegistrationKind, sealRegistrationToken } from './registration-tokens';

/**
 * What Keyshift keeps of a client's registrations once a server answered, always in the caller's
 * transaction (the one that closes the journal row and writes the audit event): tokens sealed to
 * their row, the successor's identity, the state the server now holds.
 */
@Injectable()
export class RegistrationRecords {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly cipher: EnvelopeCipher,
  ) {}

  storeToken(tx: Tx, clientRowId: string, which: RegistrationKind, token: string): Promise<void> {
    const { sealed, fingerprint } = sealRegistrationToken(this.cipher, clientRowId, which, token);
    return this.clients.storeRegistrationToken(tx, clientRowId, which, sealed, fingerprint);
  }

  storeSuccessor(
    tx: Tx,
    clientRowId: string,
    successor: { clientId: string; uri: string | null; token: string | null },
  ): Promise<void> {
    const sealedToken = successor.token
      ? sealRegistrationToken(this.cipher, clientRowId, 'successor', successor.token).sealed
      : null;
    return this.clients.storeSuccessor(tx, clientRowId, {
      clientId: successor.clientId,
      uri: successor.uri,
      sealedToken,
    });
  }

  forget(tx: Tx, clientRowId: string, which: RegistrationKind): Promise<void> {
    return this.clients.forgetRegistration(tx, clientRowId, which);
  }

  setState(tx: Tx, clientRowId: string, state: RegistrationState): Promise<void> {
    return this.clients.setRegistrationState(tx, clientRowId, state);
  }
}
