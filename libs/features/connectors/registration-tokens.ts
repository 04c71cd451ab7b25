import { EnvelopeCipher } from '@keyshift/crypto';
import { EntityManager } from 'typeorm';
import { secretContext } from '../clients/secret-context';

export type RegistrationKind = 'original' | 'successor';

/** Where each of a row's registrations keeps its URI and sealed token. */
export const TOKEN_COLUMNS = {
  original: {
    uri: 'registration_client_uri',
    ciphertext: 'registration_access_token_ciphertext',
    fingerprint: 'registration_access_token_fingerprint',
    sealedField: 'registration_access_token',
    context: secretContext.registrationAccessToken,
  },
  successor: {
    uri: 'successor_registration_client_uri',
    ciphertext: 'successor_registration_access_token_ciphertext',
    fingerprint: null,
    sealedField: 'successor_registration_access_token',
    context: secretContext.successorRegistrationAccessToken,
  },
} as const;

/** Seals a registration access token onto its client row (AAD: the row and the registration). */
export async function storeRegistrationToken(
  m: EntityManager,
  cipher: EnvelopeCipher,
  clientRowId: string,
  which: RegistrationKind,
  token: string,
): Promise<void> {
  const columns = TOKEN_COLUMNS[which];
  await m.query(
    `UPDATE clients SET ${columns.ciphertext} = $2${columns.fingerprint ? `, ${columns.fingerprint} = $3` : ''},
       updated_at = now() WHERE id = $1`,
    [
      clientRowId,
      cipher.encrypt(token, columns.context(clientRowId)),
      ...(columns.fingerprint ? [cipher.fingerprint(token)] : []),
    ],
  );
}

/** Records a new successor registration on its client row: client_id, URI and sealed token. */
export async function storeSuccessor(
  m: EntityManager,
  cipher: EnvelopeCipher,
  clientRowId: string,
  successor: { clientId: string; uri: string; token: string },
): Promise<void> {
  await m.query(
    `UPDATE clients SET successor_client_id = $2, successor_registration_client_uri = $3,
       successor_registration_access_token_ciphertext = $4, updated_at = now() WHERE id = $1`,
    [
      clientRowId,
      successor.clientId,
      successor.uri,
      cipher.encrypt(successor.token, secretContext.successorRegistrationAccessToken(clientRowId)),
    ],
  );
}

/** The token a server's answer carries, if any. */
export function tokenIn(answer: Record<string, unknown>): string | null {
  return typeof answer.registration_access_token === 'string' ? answer.registration_access_token : null;
}

/** A deleted registration: its token died with it; a successor Keyshift registered is forgotten whole. */
export async function forgetRegistration(
  m: EntityManager,
  clientRowId: string,
  which: RegistrationKind,
): Promise<void> {
  await m.query(
    which === 'original'
      ? `UPDATE clients SET registration_access_token_ciphertext = NULL, registration_access_token_fingerprint = NULL,
           updated_at = now() WHERE id = $1`
      : `UPDATE clients SET successor_client_id = NULL, successor_registration_client_uri = NULL,
           successor_registration_access_token_ciphertext = NULL, updated_at = now() WHERE id = $1`,
    [clientRowId],
  );
}
