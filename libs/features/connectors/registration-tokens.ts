import { EnvelopeCipher } from '@keyshift/crypto';
import { secretContext } from '../clients/secret-context';
import type { SealedField } from '../ports/sealed-client-values';

export type RegistrationKind = 'original' | 'successor';

/** The sealed field that holds each registration's access token. */
export const TOKEN_FIELD: Record<RegistrationKind, SealedField> = {
  original: 'registration_access_token',
  successor: 'successor_registration_access_token',
};

/** A registration access token sealed for its client row (AAD: the row and the registration). */
export function sealRegistrationToken(
  cipher: EnvelopeCipher,
  clientRowId: string,
  which: RegistrationKind,
  token: string,
): { sealed: Buffer; fingerprint: string } {
  const context =
    which === 'original'
      ? secretContext.registrationAccessToken(clientRowId)
      : secretContext.successorRegistrationAccessToken(clientRowId);
  return { sealed: cipher.encrypt(token, context), fingerprint: cipher.fingerprint(token) };
}

/** The token a server's answer carries, if any. */
export function tokenIn(answer: Record<string, unknown>): string | null {
  return typeof answer.registration_access_token === 'string' ? answer.registration_access_token : null;
}

/**
 * Why a new registration's answer cannot be used, or null: it names no client_id, or (for a
 * connector whose credential is the registration's own token) it lacks the token or the URI the
 * token goes to. The one rule the Registrar and recovery both apply.
 */
export function registrationAnswerProblem(
  answer: { clientId: string | null; registrationClientUri: string | null; registrationAccessToken: string | null },
  tokenBound: boolean,
): string | null {
  if (!answer.clientId) return 'the registration answer lacks client_id';
  if (tokenBound && (!answer.registrationAccessToken || !answer.registrationClientUri)) {
    return 'the registration answer lacks registration_access_token or registration_client_uri';
  }
  return null;
}
