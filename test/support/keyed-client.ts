import { createServer } from 'node:net';
import { newId } from '@keyshift/common';
import { INestApplicationContext } from '@nestjs/common';
import { ClientsRepository } from '@keyshift/features/clients/clients.repository';
import { KeyOrigin, KeyState } from '@keyshift/features/keys/client-key.entity';
import { KeyAlgorithm } from '@keyshift/features/keys/key-algorithms';
import { KeyGenerator } from '@keyshift/features/keys/key-generator';
import { KeyVault } from '@keyshift/features/keys/key-vault';
import { JwksChanges } from '@keyshift/features/keys/jwks-changes';
import { KeysRepository } from '@keyshift/features/keys/keys.repository';
import { Transactions } from '@keyshift/database';

/** A free TCP port on 127.0.0.1 (for an API the test AS must reach by URL). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Gives a Keyshift client an active managed key straight in the database, as a finished
 * key_registration phase would leave it (issue 5 builds that phase), and announces the change.
 */
export async function insertActiveKey(app: INestApplicationContext, clientRowId: string) {
  const key = await app.get(KeyGenerator).generate({ alg: KeyAlgorithm.ES256 });
  const id = newId();
  const tx = app.get(Transactions).none;
  await app.get(KeysRepository).insertKey(tx, {
    id,
    clientRowId,
    kid: key.kid,
    alg: KeyAlgorithm.ES256,
    origin: KeyOrigin.Managed,
    state: KeyState.Active,
    publicJwk: key.publicJwk,
    privateKeyCiphertext: app.get(KeyVault).seal(id, key.privateJwk),
    createdAt: new Date(),
    activatedAt: new Date(),
  });
  const jwks_id = await app.get(ClientsRepository).ensureJwksId(tx, clientRowId);
  await app.get(JwksChanges).announce(jwks_id);
  return { keyId: id, kid: key.kid, publicJwk: key.publicJwk, jwksId: jwks_id };
}

/** insertActiveKey, then waits until the API at `publicUrl` serves the key; returns the JWKS URL too. */
export async function giveActiveKey(app: INestApplicationContext, clientRowId: string, publicUrl: string) {
  const key = await insertActiveKey(app, clientRowId);
  const jwksUri = `${publicUrl}/jwks/${key.jwksId}.json`;
  for (let i = 0; (await fetch(jwksUri)).status !== 200; i++) {
    if (i > 100) throw new Error('the API never served the new JWKS');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...key, jwksUri };
}

/** Switches a client registered at the test AS to private_key_jwt with a jwks_uri (RFC 7592 PUT). */
export async function switchToJwksUri(reg: Record<string, string>, jwksUri: string) {
  const res = await fetch(reg.registration_client_uri, {
    method: 'PUT',
    headers: { authorization: `Bearer ${reg.registration_access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: reg.client_id,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks_uri: jwksUri,
    }),
  });
  if (res.status !== 200) throw new Error(`RFC 7592 update failed: ${res.status} ${await res.text()}`);
}
