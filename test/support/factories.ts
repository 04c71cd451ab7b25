import { randomBytes } from 'node:crypto';

/** Request bodies with sensible defaults; tests override only what they are about. */
export function anAuthorizationServer(overrides: Record<string, unknown> = {}) {
  const n = randomBytes(4).toString('hex');
  return { name: `as-${n}`, issuer: `https://idp-${n}.example.com`, connector: { type: 'rfc7592' }, ...overrides };
}

export function aClient(authorizationServerId: string, overrides: Record<string, unknown> = {}) {
  return {
    authorizationServerId,
    clientId: `client-${randomBytes(5).toString('hex')}`,
    authMethod: 'client_secret_basic',
    clientSecret: `secret-${randomBytes(12).toString('hex')}`,
    target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
    owner: 'team-payments',
    tags: ['wave-1'],
    ...overrides,
  };
}
