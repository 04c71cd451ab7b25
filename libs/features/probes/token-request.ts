import { ASSERTION_TYPE } from './client-assertion';
import { ProbeMethod } from './probe.entity';

export type ClientCredential =
  | { method: ProbeMethod.ClientSecretBasic | ProbeMethod.ClientSecretPost; clientId: string; secret: string }
  | { method: ProbeMethod.PrivateKeyJwt; clientId: string; assertion: string };

/** RFC 6749 §2.3.1: Basic credentials are the form-urlencoded id and secret. */
function basic(clientId: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** A client_credentials token request, authenticated the way `credential` says. */
export function tokenRequest(credential: ClientCredential): { headers: Record<string, string>; body: string } {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  switch (credential.method) {
    case ProbeMethod.ClientSecretBasic:
      headers.authorization = basic(credential.clientId, credential.secret);
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
