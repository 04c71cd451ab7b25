import type { ConnectorCapabilities } from '@keyshift/domain';
import { RFC7592_LIKE } from '../../support/capabilities';
import type { AuditLog } from '@keyshift/features/audit/audit-log.service';
import type { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import type { ClientRegistrations, ClientsRepository } from '@keyshift/features/clients/clients.repository';
import { AdminSessions } from '@keyshift/features/connectors/admin-sessions';
import { ConnectorTargets } from '@keyshift/features/connectors/connector-targets';
import { ExchangeStatus, RegistrationExchangeEntity } from '@keyshift/features/connectors/registration-exchange.entity';
import type { RegistrationJournal } from '@keyshift/features/connectors/registration-journal';
import type { RegistrationRecords } from '@keyshift/features/connectors/registration-records';
import type {
  ChangeOutcome,
  ConnectorTarget,
  NewRegistration,
  ServerAnswer,
  ServerConnector,
} from '@keyshift/features/connectors/server-connector';
import type { SealedClientValues } from '@keyshift/features/ports/sealed-client-values';
import type { Transactions } from '@keyshift/database';

/**
 * In-memory stand-ins for what the Registrar and RegistrationRecovery stand on (the journal, the
 * client rows, sealed values, transactions, the audit log), each writing what it was asked to do to
 * one shared log, so a test can state the order of every step. The real ConnectorTargets is used.
 */
export const STORED_TOKEN = 'stored-token-0001';

export { RFC7592_LIKE };

export const SERVER = {
  id: 'server-1',
  issuer: 'https://as.example.com',
  connectorType: 'fake',
  capabilities: { tokenEndpoint: 'https://as.example.com/token', registrationEndpoint: 'https://as.example.com/reg' },
} as unknown as AuthorizationServerEntity;

export const CLIENT = { id: 'row-1', clientId: 'billing-api' };

export function answer(metadata: Record<string, unknown>, token: string | null = null): ServerAnswer {
  return { metadata, registrationAccessToken: token, serverMs: 3 };
}

/** A connector whose every call is logged with the token it was given, and answered by the test. */
export class ScriptedConnector implements ServerConnector {
  reads: ((t: ConnectorTarget) => Promise<ServerAnswer>)[] = [];
  onUpdate: (t: ConnectorTarget) => Promise<ChangeOutcome> = async () => ({ kind: 'applied', answer: answer({}) });
  onRemove: (t: ConnectorTarget) => Promise<ChangeOutcome> = async () => ({ kind: 'applied', answer: answer({}) });
  onRegister: () => Promise<NewRegistration> = async () => {
    throw new Error('unscripted register');
  };

  constructor(
    private readonly log: string[],
    readonly capabilities: ConnectorCapabilities = RFC7592_LIKE,
  ) {}

  read(t: ConnectorTarget): Promise<ServerAnswer> {
    this.log.push(`connector.read ${t.registration} token=${t.registrationAccessToken}`);
    const next = this.reads.shift();
    if (!next) throw new Error('unscripted read');
    return next(t);
  }

  update(t: ConnectorTarget): Promise<ChangeOutcome> {
    this.log.push(`connector.update token=${t.registrationAccessToken}`);
    return this.onUpdate(t);
  }

  remove(t: ConnectorTarget): Promise<ChangeOutcome> {
    this.log.push(`connector.remove token=${t.registrationAccessToken}`);
    return this.onRemove(t);
  }

  register(): Promise<NewRegistration> {
    this.log.push('connector.register');
    return this.onRegister();
  }
}

export interface Fakes {
  log: string[];
  /** Every audit event appended or recorded, whole (to check no token is in one). */
  audited: unknown[];
  registrations: ClientRegistrations;
  open: RegistrationExchangeEntity[];
  targets: ConnectorTargets;
  journal: RegistrationJournal;
  records: RegistrationRecords;
  transactions: Transactions;
  audit: AuditLog;
}

export function fakes(): Fakes {
  const log: string[] = [];
  const audited: unknown[] = [];
  const registrations: ClientRegistrations = {
    original: { clientId: CLIENT.clientId, uri: 'https://as.example.com/reg/billing-api', hasToken: true },
    successor: null,
  };
  const open: RegistrationExchangeEntity[] = [];
  let inTx = false;
  const where = () => (inTx ? ' (in tx)' : '');
  const clients = { registrationsOf: async () => registrations } as unknown as ClientsRepository;
  const sealed: SealedClientValues = {
    use: async (_id, field, purpose, _actor, use) => {
      log.push(`open ${field} for "${purpose}"`);
      return use(STORED_TOKEN);
    },
  };
  const journal = {
    intend: async (intent: { operation: string; plannedState: unknown }) => {
      log.push(`journal.intend ${intent.operation}`);
      return 'exchange-1';
    },
    answered: async (_id: string, token: string | null) => log.push(`journal.answered token=${token}`),
    settle: async (id: string, status: ExchangeStatus, resolution: string | null) =>
      log.push(`journal.settle ${id} ${status}${resolution ? `: ${resolution}` : ''}${where()}`),
    open: async () => open,
    openToken: (x: RegistrationExchangeEntity) =>
      x.registrationAccessTokenCiphertext ? 'journalled-token-0002' : null,
  } as unknown as RegistrationJournal;
  const records = {
    storeToken: async (_tx: unknown, _id: string, which: string, token: string) =>
      log.push(`records.storeToken ${which} ${token}${where()}`),
    storeSuccessor: async (_tx: unknown, _id: string, s: { clientId: string; token: string | null }) =>
      log.push(`records.storeSuccessor ${s.clientId} ${s.token}${where()}`),
    forget: async (_tx: unknown, _id: string, which: string) => log.push(`records.forget ${which}${where()}`),
    setState: async (_tx: unknown, _id: string, state: unknown) =>
      log.push(`records.setState ${JSON.stringify(state)}${where()}`),
  } as unknown as RegistrationRecords;
  const transactions = {
    run: async <T>(work: (tx: unknown) => Promise<T>) => {
      log.push('tx begin');
      inTx = true;
      try {
        const result = await work({});
        log.push('tx commit');
        return result;
      } finally {
        inTx = false;
      }
    },
  } as unknown as Transactions;
  const audit = {
    append: async (_tx: unknown, events: { action: string }[]) => {
      audited.push(...events);
      for (const e of events) log.push(`audit ${e.action}${where()}`);
    },
    recordSoon: async (e: { action: string }) => {
      audited.push(e);
      log.push(`audit ${e.action} (committed first)`);
    },
  } as unknown as AuditLog;
  return {
    log,
    audited,
    registrations,
    open,
    // No admin API in these fakes: the connectors under test use registration access tokens or none.
    targets: new ConnectorTargets(clients, sealed, { access: () => null } as unknown as AdminSessions),
    journal,
    records,
    transactions,
    audit,
  };
}

/** A journal row as a killed worker left it. */
export function exchange(over: Partial<RegistrationExchangeEntity>): RegistrationExchangeEntity {
  return {
    id: 'exchange-9',
    clientRowId: CLIENT.id,
    operation: 'update',
    registration: 'original',
    clientId: CLIENT.clientId,
    change: { jwks_uri: 'https://ks.example.com/jwks/j1.json' },
    plannedState: { keys: { delivery: 'jwks_uri', jwksUri: 'https://ks.example.com/jwks/j1.json', kids: ['k1'] } },
    status: ExchangeStatus.Intent,
    registrationAccessTokenCiphertext: null,
    answer: null,
    serverMs: null,
    resolution: null,
    createdAt: new Date('2026-12-07T10:00:00Z'),
    answeredAt: null,
    settledAt: null,
    ...over,
  } as RegistrationExchangeEntity;
}
