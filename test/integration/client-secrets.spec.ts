import { Test, TestingModule } from '@nestjs/testing';
import { DomainError } from '@keyshift/common';
import { PlatformModule } from '@keyshift/platform';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { AuthorizationServersModule } from '@keyshift/features/authorization-servers/authorization-servers.module';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ClientSecrets } from '@keyshift/features/clients/client-secrets.service';
import { ClientsModule } from '@keyshift/features/clients/clients.module';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { ConnectorsModule } from '@keyshift/features/connectors/connectors.module';
import { DataSource } from 'typeorm';
import { aClient, anAuthorizationServer } from '../support/factories';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

describe('ClientSecrets: the only way to open a sealed secret', () => {
  let db: TestDatabase;
  let app: TestingModule;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await Test.createTestingModule({
      // ConnectorsModule: the connector catalog the authorization server service validates types against.
      imports: [PlatformModule.forRoot(testConfig(db)), ClientsModule, ConnectorsModule, AuthorizationServersModule],
    }).compile();
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('opens the secret for the duration of the call and audits who opened it and why', async () => {
    const server = await app.get(AuthorizationServersService).create(anAuthorizationServer() as never, operator);
    const body = aClient(server.id, { registrationAccessToken: 'rat-123' });
    const client = await app.get(ClientsService).create(body as never, operator);

    const seen = await app
      .get(ClientSecrets)
      .use(client.id, 'client_secret', 'probe client_secret_basic', 'system:worker', async (s) => s);
    expect(seen).toBe(body.clientSecret);
    const rat = await app
      .get(ClientSecrets)
      .use(client.id, 'registration_access_token', 'RFC 7592 read', 'system:worker', async (s) => s);
    expect(rat).toBe('rat-123');

    const events = await app.get(AuditLog).list({ subjectId: client.id, action: 'client.secret_accessed', limit: 10 });
    expect(events.items.map((e) => [e.actor, e.after])).toEqual([
      ['system:worker', { field: 'client_secret', purpose: 'probe client_secret_basic' }],
      ['system:worker', { field: 'registration_access_token', purpose: 'RFC 7592 read' }],
    ]);
    expect(JSON.stringify(events)).not.toContain(body.clientSecret);
  });

  it('refuses a shredded secret and a ciphertext moved to another client', async () => {
    const server = await app.get(AuthorizationServersService).create(anAuthorizationServer() as never, operator);
    const a = await app.get(ClientsService).create(aClient(server.id) as never, operator);
    const b = await app.get(ClientsService).create(aClient(server.id) as never, operator);
    const ds = app.get(DataSource);
    await ds.query(
      'UPDATE clients SET secret_ciphertext = (SELECT secret_ciphertext FROM clients WHERE id = $1) WHERE id = $2',
      [a.id, b.id],
    );
    await expect(app.get(ClientSecrets).use(b.id, 'client_secret', 'test', 'x', async (s) => s)).rejects.toThrow(
      'does not open',
    );
    await ds.query(`UPDATE clients SET secret_ciphertext = NULL, secret_status = 'shredded' WHERE id = $1`, [a.id]);
    await expect(app.get(ClientSecrets).use(a.id, 'client_secret', 'test', 'x', async (s) => s)).rejects.toBeInstanceOf(
      DomainError,
    );
  });
});
