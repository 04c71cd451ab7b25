import { ExchangeOperation, ExchangeStatus } from '@keyshift/features/connectors/registration-exchange.entity';
import { RegistrationRecovery } from '@keyshift/features/connectors/registration-recovery';
import { ConnectorError } from '@keyshift/features/connectors/server-connector';
import {
  answer,
  CLIENT,
  exchange,
  fakes,
  Fakes,
  RFC7592_LIKE,
  ScriptedConnector,
  SERVER,
  STORED_TOKEN,
} from './registrar-fakes';

const JWKS_URI = 'https://ks.example.com/jwks/j1.json';
const refused = () =>
  Promise.reject(new ConnectorError('RFC 7592 read: the registration access token was refused', false, 401));

/**
 * Every way RegistrationRecovery settles an exchange a killed worker left open, over in-memory
 * repositories (the SIGKILL proof is registration-token-kills.spec.ts; this is its logic, fast).
 */
describe('RegistrationRecovery', () => {
  let f: Fakes;
  let connector: ScriptedConnector;
  const recover = () =>
    new RegistrationRecovery(f.journal, f.targets, f.records, f.transactions, f.audit).recover(
      CLIENT,
      SERVER,
      connector,
    );

  beforeEach(() => {
    f = fakes();
    connector = new ScriptedConnector(f.log);
  });

  it('has nothing to do without open exchanges', async () => {
    expect(await recover()).toBe(false);
    expect(f.log).toEqual([]);
  });

  it('adopts an answered update: the journalled token read with, stored, and the change recorded as shown', async () => {
    f.open.push(exchange({ status: ExchangeStatus.Answered, registrationAccessTokenCiphertext: Buffer.from('x') }));
    connector.reads.push(async () => answer({ jwks_uri: JWKS_URI }));
    expect(await recover()).toBe(true);
    expect(f.log).toEqual([
      'audit client.secret_accessed (committed first)',
      'connector.read original token=journalled-token-0002',
      'tx begin',
      'records.storeToken original journalled-token-0002 (in tx)',
      `records.setState {"keys":{"delivery":"jwks_uri","jwksUri":"${JWKS_URI}","kids":["k1"]}} (in tx)`,
      'journal.settle exchange-9 applied: recovered after an interrupted worker (in tx)',
      'audit client.registration_recovered (in tx)',
      'tx commit',
    ]);
  });

  it('adopts the token but records no change the server does not show (the next converge makes it again)', async () => {
    f.open.push(exchange({ status: ExchangeStatus.Answered, registrationAccessTokenCiphertext: Buffer.from('x') }));
    connector.reads.push(async () => answer({}));
    await recover();
    expect(f.log.join('\n')).toContain('records.storeToken original journalled-token-0002');
    expect(f.log.join('\n')).not.toContain('records.setState');
  });

  it('settles an answer as superseded when its token is refused but the one Keyshift holds works', async () => {
    f.open.push(exchange({ status: ExchangeStatus.Answered, registrationAccessTokenCiphertext: Buffer.from('x') }));
    connector.reads.push(refused, async () => answer({}));
    await recover();
    expect(f.log).toContain(`connector.read original token=${STORED_TOKEN}`);
    expect(f.log).toContain(
      'journal.settle exchange-9 superseded: the answer was superseded: the token Keyshift holds works (in tx)',
    );
    expect(f.log.join('\n')).not.toContain('records.');
  });

  it('abandons an intent the server does not show: the request never took effect', async () => {
    f.open.push(exchange({}));
    connector.reads.push(async () => answer({ jwks_uri: 'https://elsewhere.example/jwks' }));
    await recover();
    expect(f.log).toContain(
      'journal.settle exchange-9 abandoned: the request never took effect: the server does not show the change (in tx)',
    );
    expect(f.log.join('\n')).not.toContain('records.');
  });

  it('records an intent the server does show (a server that does not rotate tokens may have taken it)', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, credential: 'server_admin' });
    f.open.push(exchange({}));
    connector.reads.push(async () => answer({ jwks_uri: JWKS_URI }));
    await recover();
    expect(f.log).toContain('connector.read original token=null');
    expect(f.log.join('\n')).toMatch(
      /records\.setState .*\(in tx\)\njournal\.settle exchange-9 applied: recovered after an interrupted worker: the server shows the change/,
    );
  });

  it('settles an intent whose held token is refused as lost, and stops the client with what a person must do', async () => {
    f.open.push(exchange({}));
    connector.reads.push(refused);
    const error = (await recover().catch((e: unknown) => e)) as ConnectorError;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/interrupted before its answer was recorded/);
    expect(error.message).toMatch(/must issue a new registration access token for billing-api/);
    expect(error.message).not.toContain(STORED_TOKEN);
    expect(f.log.some((l) => l.startsWith('journal.settle exchange-9 lost:'))).toBe(true);
  });

  it('words a refused read differently when the credential is the server’s admin one', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, credential: 'server_admin' });
    f.open.push(exchange({}));
    connector.reads.push(refused);
    await expect(recover()).rejects.toThrow(/refused to show the registration .*check billing-api at the server/);
  });

  it('settles a successor registration with no journalled answer as lost (RFC 7591 cannot look it up)', async () => {
    f.open.push(
      exchange({ operation: ExchangeOperation.Register, change: { client_name: 'billing-api (successor)' } }),
    );
    await expect(recover()).rejects.toThrow(/successor registration named "billing-api \(successor\)" may exist/);
    expect(f.log.filter((l) => l.startsWith('connector.'))).toEqual([]);
  });

  it('adopts an answered successor registration with the answer’s identity and token', async () => {
    f.open.push(
      exchange({
        operation: ExchangeOperation.Register,
        registration: 'successor',
        status: ExchangeStatus.Answered,
        registrationAccessTokenCiphertext: Buffer.from('x'),
        change: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: JWKS_URI },
        answer: { client_id: 'billing-api-2', registration_client_uri: 'https://as.example.com/reg/billing-api-2' },
      }),
    );
    connector.reads.push(async (t) => {
      expect(t).toMatchObject({
        clientId: 'billing-api-2',
        registrationClientUri: 'https://as.example.com/reg/billing-api-2',
      });
      return answer({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: JWKS_URI });
    });
    await recover();
    expect(f.log).toContain('records.storeSuccessor billing-api-2 journalled-token-0002 (in tx)');
  });

  it('records a delete whose registration no longer answers', async () => {
    f.open.push(
      exchange({
        operation: ExchangeOperation.Delete,
        change: { deleted: true },
        plannedState: { originalDeleted: true } as never,
      }),
    );
    connector.reads.push(() => Promise.reject(new ConnectorError('RFC 7592 read: gone', false, 404)));
    await recover();
    expect(f.log).toEqual(
      expect.arrayContaining(['records.forget original (in tx)', 'records.setState {"originalDeleted":true} (in tx)']),
    );
  });

  it('leaves the exchange open when the server cannot be asked now (transient): nothing settled', async () => {
    f.open.push(exchange({}));
    connector.reads.push(() => Promise.reject(new ConnectorError('RFC 7592 read failed: timeout', true)));
    await expect(recover()).rejects.toMatchObject({ transient: true });
    expect(f.log.join('\n')).not.toMatch(/journal\.settle|records\./);
  });
});
