import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { newId } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import type { RegistrationState } from '../clients/client.entity';
import { ExchangeOperation, ExchangeStatus, RegistrationExchangeEntity } from './registration-exchange.entity';

export interface Intent {
  clientRowId: string;
  operation: ExchangeOperation;
  registration: 'original' | 'successor';
  clientId: string;
  change: Record<string, unknown>;
  plannedState: RegistrationState | null;
}

/** The AAD of a journalled token: bound to its journal row, so it opens nowhere else. */
export const journalledTokenContext = (exchangeId: string) => `registration_exchange_token:${exchangeId}`;

/**
 * The durable record of RFC 7591/7592 exchanges that can hand out a registration access token. Each
 * write is its own short transaction, committed before the next step: the intent before the
 * request, the answer (token sealed) the moment it arrives. Nothing else happens in between.
 */
@Injectable()
export class RegistrationJournal {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: EnvelopeCipher,
  ) {}

  /** Commits the intent to make a request; returns its id. */
  async intend(intent: Intent): Promise<string> {
    const id = newId();
    await this.dataSource.query(
      `INSERT INTO registration_exchanges (id, client_row_id, operation, registration, client_id, change, planned_state, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', now())`,
      [
        id,
        intent.clientRowId,
        intent.operation,
        intent.registration,
        intent.clientId,
        intent.change,
        intent.plannedState,
      ],
    );
    return id;
  }

  /** Commits the server's answer: the token sealed to this row, the rest without secrets. */
  async answered(id: string, token: string | null, answer: Record<string, unknown>, serverMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE registration_exchanges SET status = 'answered', registration_access_token_ciphertext = $2,
         answer = $3, server_ms = $4, answered_at = now() WHERE id = $1 AND status = 'intent'`,
      [id, token === null ? null : this.cipher.encrypt(token, journalledTokenContext(id)), answer, serverMs],
    );
  }

  /**
   * Closes an exchange (in the caller's transaction when given). The journal's copy of the token
   * is destroyed with it: once applied, the client row holds the only copy.
   */
  async settle(id: string, status: ExchangeStatus, resolution: string | null, m?: EntityManager): Promise<void> {
    await (m ?? this.dataSource.manager).query(
      `UPDATE registration_exchanges SET status = $2, resolution = $3, registration_access_token_ciphertext = NULL,
         settled_at = now() WHERE id = $1 AND status IN ('intent', 'answered')`,
      [id, status, resolution],
    );
  }

  /** A client's open exchanges, oldest first: recovered before anything else touches its registrations. */
  open(clientRowId: string): Promise<RegistrationExchangeEntity[]> {
    return this.dataSource.getRepository(RegistrationExchangeEntity).find({
      where: { clientRowId, status: In([ExchangeStatus.Intent, ExchangeStatus.Answered]) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /** The journalled token of an answered exchange (the caller audits the opening). */
  openToken(exchange: RegistrationExchangeEntity): string | null {
    if (!exchange.registrationAccessTokenCiphertext) return null;
    return this.cipher
      .decrypt(exchange.registrationAccessTokenCiphertext, journalledTokenContext(exchange.id))
      .toString('utf8');
  }
}
