import { basicAuthorization } from '@keyshift/outbound';
import { ASSERTION_TYPE } from './client-assertion';
import { ProbeMethod } from './probe.entity';

export type ClientCredential =
  | { method: ProbeMethod.ClientSecretBasic | ProbeMethod.ClientSecretPost; clientId: string; secret: string }
  | { method: ProbeMethod.PrivateKeyJwt; clientId: string; assertion: string };

/** A client_credentials token request, authenticated the way `credential` says. */
export function tokenRequest(credential: ClientCredential): { headers: Record<string, string>; body: string } {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  switch (credential.method) {
    case ProbeMethod.ClientSecretBasic:
      headers.authorization = basicAuthorization(credential.clientId, credential.secret);
      break;
    case ProbeMethod.ClientSecretPost:
      form.set('client_id', credential.clientId);
      form.set('client_secret', credential.secret);
      break;
    case ProbeMethod.PrivateKeyJwt:
      form.set('client_id', credential.clientId);
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', credential.assertion);
      break;
  }
  return { headers, body: form.toString() };
}
