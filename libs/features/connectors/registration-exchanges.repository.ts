import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx } from '@keyshift/database';
import type { RegistrationState } from '../clients/client.entity';
import { DataSource, In } from 'typeorm';
import { ExchangeOperation, ExchangeStatus, RegistrationExchangeEntity } from './registration-exchange.entity';

export interface NewExchange {
  id: string;
  clientRowId: string;
  operation: ExchangeOperation;
  registration: 'original' | 'successor';
  clientId: string;
  change: Record<string, unknown>;
  plannedState: RegistrationState | null;
}

/**
 * All SQL on `registration_exchanges`, the journal of calls that change a registration at a server.
 * Each status change is guarded by the status it leaves, so a late or repeated write never reopens
 * or rewrites a settled exchange.
 */
@Injectable()
export class RegistrationExchangesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  async insertIntent(x: NewExchange): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO registration_exchanges (id, client_row_id, operation, registration, client_id, change, planned_state, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', now())`,
      [x.id, x.clientRowId, x.operation, x.registration, x.clientId, x.change, x.plannedState],
    );
  }

  async markAnswered(id: string, sealedToken: Buffer | null, answer: Record<string, unknown>, serverMs: number) {
    await this.dataSource.query(
      `UPDATE registration_exchanges SET status = 'answered', registration_access_token_ciphertext = $2,
         answer = $3, server_ms = $4, answered_at = now() WHERE id = $1 AND status = 'intent'`,
      [id, sealedToken, answer, serverMs],
    );
  }

  /** Closes an exchange; the journal's copy of a token is destroyed with it. */
  async settle(id: string, status: ExchangeStatus, resolution: string | null, tx?: Tx): Promise<void> {
    await this.tx(tx).query(
      `UPDATE registration_exchanges SET status = $2, resolution = $3, registration_access_token_ciphertext = NULL,
         settled_at = now() WHERE id = $1 AND status IN ('intent', 'answered')`,
      [id, status, resolution],
    );
  }

  /** A client's open exchanges, oldest first. */
  openFor(clientRowId: string): Promise<RegistrationExchangeEntity[]> {
    return this.dataSource.getRepository(RegistrationExchangeEntity).find({
      where: { clientRowId, status: In([ExchangeStatus.Intent, ExchangeStatus.Answered]) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }
}
