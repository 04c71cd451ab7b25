import type { ConnectorRegistry } from '@keyshift/features/connectors/connector-registry';
import { Registrar } from '@keyshift/features/connectors/registrar';
import type { RegistrationRecovery } from '@keyshift/features/connectors/registration-recovery';
import { ConnectorError } from '@keyshift/features/connectors/server-connector';
import { answer, CLIENT, fakes, Fakes, RFC7592_LIKE, ScriptedConnector, SERVER, STORED_TOKEN } from './registrar-fakes';

/**
 * The Registrar's contract, step by step, over in-memory repositories: the intent is journalled
 * before the request, the answer (with a rotated token) the moment it arrives, then one
 * transaction stores the token and the state, closes the journal row and audits. What a refusal,
 * a fault and a hand-over each leave behind.
 */
describe('Registrar', () => {
  let f: Fakes;
  let connector: ScriptedConnector;
  const registrar = () =>
    new Registrar(
      { for: () => connector } as unknown as ConnectorRegistry,
      f.targets,
      f.journal,
      f.records,
      { recover: async () => false } as unknown as RegistrationRecovery,
      f.transactions,
      f.audit,
    );
  const planned = { authMethod: 'private_key_jwt' };

  beforeEach(() => {
    f = fakes();
    connector = new ScriptedConnector(f.log);
  });

  it('journals the intent, opens the token for the call only, journals the answer, then stores and audits in one transaction', async () => {
    connector.onUpdate = async () => ({
      kind: 'applied',
      answer: answer({ token_endpoint_auth_method: 'private_key_jwt' }, 'rotated-token-0003'),
    });
    const outcome = await registrar().update(
      CLIENT,
      SERVER,
      'original',
      { token_endpoint_auth_method: 'private_key_jwt' },
      planned,
    );
    expect(outcome).toEqual({ kind: 'applied', metadata: { token_endpoint_auth_method: 'private_key_jwt' } });
    expect(f.log).toEqual([
      'journal.intend update',
      'open registration_access_token for "RFC 7592 update"',
      `connector.update token=${STORED_TOKEN}`,
      'journal.answered token=rotated-token-0003',
      'tx begin',
      'records.storeToken original rotated-token-0003 (in tx)',
      'records.setState {"authMethod":"private_key_jwt"} (in tx)',
      'journal.settle exchange-1 applied (in tx)',
      'audit client.registration_updated (in tx)',
      'tx commit',
    ]);
    expect(JSON.stringify(f.audited)).not.toMatch(/rotated-token|stored-token/);
    expect(f.audited).toEqual([
      expect.objectContaining({
        after: expect.objectContaining({ registrationAccessTokenRotated: true, clientId: CLIENT.clientId }),
      }),
    ]);
  });

  it('closes the intent as refused when the server answers 4xx, and records nothing', async () => {
    connector.onUpdate = async () => {
      throw new ConnectorError('RFC 7592 update: HTTP 400 (invalid_client_metadata)', false, 400);
    };
    await expect(
      registrar().update(CLIENT, SERVER, 'original', { dpop_bound_access_tokens: true }, planned),
    ).rejects.toMatchObject({ httpStatus: 400 });
    expect(f.log.slice(-1)).toEqual([
      'journal.settle exchange-1 refused: RFC 7592 update: HTTP 400 (invalid_client_metadata)',
    ]);
    expect(f.log.join('\n')).not.toMatch(/records\.|audit|answered/);
  });

  it.each([
    ['a 5xx', new ConnectorError('RFC 7592 update: HTTP 503', true, 503)],
    ['no answer', new ConnectorError('RFC 7592 update failed: timeout', true)],
  ])('leaves the intent open after %s (the server may have made the change): recovery decides', async (_, error) => {
    connector.onUpdate = async () => {
      throw error;
    };
    await expect(registrar().update(CLIENT, SERVER, 'original', { jwks_uri: 'x' }, planned)).rejects.toBe(error);
    expect(f.log.join('\n')).not.toMatch(/journal\.settle|journal\.answered|records\./);
  });

  it('refuses before sending anything when Keyshift holds no token for a token-bound connector', async () => {
    f.registrations.original.hasToken = false;
    await expect(registrar().read(CLIENT, SERVER)).rejects.toThrow(/no registration access token in Keyshift/);
    expect(f.log).toEqual([]);
  });

  it('opens nothing for a connector with its own admin credential, and still journals the change', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, credential: 'server_admin' });
    await registrar().update(CLIENT, SERVER, 'original', { jwks_uri: 'x' }, null);
    expect(f.log).toEqual([
      'journal.intend update',
      'connector.update token=null',
      'journal.answered token=null',
      'tx begin',
      'journal.settle exchange-1 applied (in tx)',
      'audit client.registration_updated (in tx)',
      'tx commit',
    ]);
  });

  it('hands an operator the change without journalling it when the connector is not automated', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, automated: false, credential: 'none' });
    connector.onUpdate = async () => ({ kind: 'awaiting_operator', instructions: ['Do it by hand.'] });
    expect(await registrar().update(CLIENT, SERVER, 'original', { jwks_uri: 'x' }, planned)).toEqual({
      kind: 'awaiting_operator',
      instructions: ['Do it by hand.'],
    });
    expect(f.log).toEqual(['connector.update token=null']);
  });

  it('registers a successor: its only token journalled, then stored with its identity', async () => {
    connector.onRegister = async () => ({
      ...answer({ token_endpoint_auth_method: 'private_key_jwt' }, 'successor-token-0004'),
      clientId: 'billing-api-2',
      registrationClientUri: 'https://as.example.com/reg/billing-api-2',
      refusal: null,
    });
    const created = await registrar().register(CLIENT, SERVER, { client_name: 'billing-api (successor)' }, planned);
    expect(created.clientId).toBe('billing-api-2');
    expect(f.log).toEqual([
      'journal.intend register',
      'connector.register',
      'journal.answered token=successor-token-0004',
      'tx begin',
      'records.storeSuccessor billing-api-2 successor-token-0004 (in tx)',
      'records.setState {"authMethod":"private_key_jwt"} (in tx)',
      'journal.settle exchange-1 applied (in tx)',
      'audit client.successor_registered (in tx)',
      'tx commit',
    ]);
    expect(JSON.stringify(f.audited)).not.toContain('successor-token');
  });

  it.each([
    [
      'a refusal by the connector (a management URI elsewhere)',
      {
        refusal:
          'the answer’s registration_client_uri is not under the endpoint; delete the registration at the server',
      },
      /not under the endpoint; delete the registration at the server \(the server named it billing-api-2\)/,
    ],
    [
      'no token, at a connector whose credential the token is',
      { registrationAccessToken: null },
      /lacks registration_access_token or registration_client_uri \(the server named it billing-api-2\)/,
    ],
  ])(
    'journals an answer before refusing it for %s, naming the registration the server made',
    async (_, over, reason) => {
      connector.onRegister = async () => ({
        ...answer({}, 'successor-token-0004'),
        clientId: 'billing-api-2',
        registrationClientUri: 'https://as.example.com/reg/billing-api-2',
        refusal: null,
        ...over,
      });
      await expect(registrar().register(CLIENT, SERVER, {}, planned)).rejects.toThrow(reason);
      expect(f.log[2]).toMatch(/^journal\.answered/);
      expect(f.log[3]).toMatch(/^journal\.settle exchange-1 refused: /);
      expect(f.log.join('\n')).not.toMatch(/records\.|audit/);
    },
  );

  it('treats a change a hand-operated connector says it applied as a bug, recording nothing', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, automated: false, credential: 'none' });
    await expect(registrar().update(CLIENT, SERVER, 'original', { jwks_uri: 'x' }, planned)).rejects.toThrow(
      /not automated reported a change as applied/,
    );
    expect(f.log).toEqual(['connector.update token=null']);
  });

  it('strips server-issued secrets from what it journals and returns, whatever the connector sent', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, credential: 'server_admin' });
    connector.onUpdate = async () => ({
      kind: 'applied',
      answer: answer({ token_endpoint_auth_method: 'private_key_jwt', client_secret: 'echoed-secret' }),
    });
    const outcome = await registrar().update(CLIENT, SERVER, 'original', { jwks_uri: 'x' }, null);
    expect(outcome).toEqual({ kind: 'applied', metadata: { token_endpoint_auth_method: 'private_key_jwt' } });
    expect(JSON.stringify(f.audited)).not.toContain('echoed-secret');
  });

  it('refuses a successor at a connector that cannot register, before any call', async () => {
    connector = new ScriptedConnector(f.log, { ...RFC7592_LIKE, canRegister: false });
    await expect(registrar().register(CLIENT, SERVER, {}, null)).rejects.toThrow(/cannot register a successor/);
    expect(f.log).toEqual([]);
  });

  it('deletes: the registration forgotten, the state recorded, in the audit event’s transaction', async () => {
    await registrar().remove(CLIENT, SERVER, 'original', { originalDeleted: true } as never);
    expect(f.log).toEqual([
      'journal.intend delete',
      'open registration_access_token for "RFC 7592 delete"',
      `connector.remove token=${STORED_TOKEN}`,
      'journal.answered token=null',
      'tx begin',
      'records.forget original (in tx)',
      'records.setState {"originalDeleted":true} (in tx)',
      'journal.settle exchange-1 applied (in tx)',
      'audit client.registration_deleted (in tx)',
      'tx commit',
    ]);
  });
});
