import { Injectable } from '@nestjs/common';
import { newId } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { Tx } from '@keyshift/database';
import { ExchangeStatus, RegistrationExchangeEntity } from './registration-exchange.entity';
import { NewExchange, RegistrationExchangesRepository } from './registration-exchanges.repository';

export type Intent = Omit<NewExchange, 'id'>;

/** The AAD of a journalled token: bound to its journal row, so it opens nowhere else. */
export const journalledTokenContext = (exchangeId: string) => `registration_exchange_token:${exchangeId}`;

/**
 * The durable record of each call that changes a registration at a server. Each write is its own
 * short transaction, committed before the next step: the intent before the request, the answer
 * (a rotated token sealed to its journal row) the moment it arrives. Nothing else happens between.
 */
@Injectable()
export class RegistrationJournal {
  constructor(
    private readonly exchanges: RegistrationExchangesRepository,
    private readonly cipher: EnvelopeCipher,
  ) {}

  /** Commits the intent to make a request; returns its id. */
  async intend(intent: Intent): Promise<string> {
    const id = newId();
    await this.exchanges.insertIntent({ id, ...intent });
    return id;
  }

  /** Commits the server's answer: the token sealed to this row, the rest without secrets. */
  answered(id: string, token: string | null, answer: Record<string, unknown>, serverMs: number): Promise<void> {
    const sealed = token === null ? null : this.cipher.encrypt(token, journalledTokenContext(id));
    return this.exchanges.markAnswered(id, sealed, answer, serverMs);
  }

  /** Closes an exchange (in the caller's transaction when given); once applied, the client row holds the token. */
  settle(id: string, status: ExchangeStatus, resolution: string | null, tx?: Tx): Promise<void> {
    return this.exchanges.settle(id, status, resolution, tx);
  }

  /** A client's open exchanges, oldest first: recovered before anything else touches its registrations. */
  open(clientRowId: string): Promise<RegistrationExchangeEntity[]> {
    return this.exchanges.openFor(clientRowId);
  }

  /** The journalled token of an answered exchange (the caller audits the opening). */
  openToken(exchange: RegistrationExchangeEntity): string | null {
    if (!exchange.registrationAccessTokenCiphertext) return null;
    return this.cipher
      .decrypt(exchange.registrationAccessTokenCiphertext, journalledTokenContext(exchange.id))
      .toString('utf8');
  }
}
