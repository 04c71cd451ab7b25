import { Injectable } from '@nestjs/common';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientsRepository, HeldRegistration } from '../clients/clients.repository';
import { SealedClientValues } from '../ports/sealed-client-values';
import { AdminSessions } from './admin-sessions';
import { RegistrationKind, TOKEN_FIELD } from './registration-tokens';
import { ConnectorError, ConnectorServer, ConnectorTarget, ServerConnector } from './server-connector';

/** A client as the Registrar needs it: its row, and the server's client_id of its original registration. */
export interface RegistrarClient {
  id: string;
  clientId: string;
}

/**
 * Builds what a connector call is about from what Keyshift holds. For a connector whose credential
 * is the registration's own access token, the sealed token is opened (audited, committed first)
 * for the duration of the call only, and a registration Keyshift holds no token or URI for is
 * refused before anything is sent.
 */
@Injectable()
export class ConnectorTargets {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly sealed: SealedClientValues,
    private readonly admin: AdminSessions,
  ) {}

  /** The server as a connector sees it: where it is and, for an admin-API connector, its admin API. */
  server(server: AuthorizationServerEntity): ConnectorServer {
    return {
      id: server.id,
      issuer: server.issuer,
      tokenEndpoint: server.capabilities?.tokenEndpoint ?? null,
      registrationEndpoint: server.capabilities?.registrationEndpoint ?? null,
      admin: this.admin.access(server),
    };
  }

  /** The registration as Keyshift holds it; refused when Keyshift has none (no successor yet). */
  async held(client: RegistrarClient, which: RegistrationKind): Promise<HeldRegistration> {
    const held = await this.clients.registrationsOf(client.id);
    const registration = which === 'original' ? held?.original : held?.successor;
    if (!registration) {
      throw new ConnectorError(`client ${client.clientId} has no ${which} registration in Keyshift`, false);
    }
    return registration;
  }

  /** The registration with a token Keyshift already has in hand (recovery's journalled one), nothing opened. */
  async targetWithToken(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    which: RegistrationKind,
    token: string,
  ): Promise<ConnectorTarget> {
    const registration = await this.held(client, which);
    return {
      server: this.server(server),
      clientId: registration.clientId,
      registration: which,
      registrationClientUri: registration.uri,
      registrationAccessToken: token,
    };
  }

  async with<T>(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    connector: ServerConnector,
    which: RegistrationKind,
    purpose: string,
    call: (target: ConnectorTarget) => Promise<T>,
    known?: HeldRegistration,
  ): Promise<T> {
    const registration = known ?? (await this.held(client, which));
    const target: ConnectorTarget = {
      server: this.server(server),
      clientId: registration.clientId,
      registration: which,
      registrationClientUri: registration.uri,
      registrationAccessToken: null,
    };
    if (connector.capabilities.credential !== 'registration_access_token') return call(target);
    if (!registration.uri) {
      throw new ConnectorError(`client ${registration.clientId} has no registration_client_uri in Keyshift`, false);
    }
    if (!registration.hasToken) {
      throw new ConnectorError(
        `client ${registration.clientId} has no registration access token in Keyshift (never imported, or the registration was deleted)`,
        false,
      );
    }
    return this.sealed.use(client.id, TOKEN_FIELD[which], purpose, SYSTEM_ACTORS.worker, (token) =>
      call({ ...target, registrationAccessToken: token }),
    );
  }
}
