import { parseHostPort } from '@keyshift/config';
import { parseDiscoveryDocument } from '@keyshift/features/authorization-servers/discovery-document';
import { endpointScope, trustedHostsProblem } from '@keyshift/features/authorization-servers/endpoint-policy';
import { registrationClientUriProblem } from '@keyshift/features/authorization-servers/registration-client-uri';

const ISSUER = 'https://idp.example.com/tenant';
const allowlist = [parseHostPort('127.0.0.1:4000', { wildcard: false })] as never;

function parse(doc: Record<string, unknown>, trustedHosts: string[] = [], issuer = ISSUER) {
  const body = Buffer.from(
    JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, registration_endpoint: `${issuer}/reg`, ...doc }),
  );
  return parseDiscoveryDocument(body, issuer, `${issuer}/.well-known/openid-configuration`, {
    ...endpointScope({ issuer, trustedHosts }, allowlist),
  });
}

describe('discovery refuses endpoints off the issuer host (each case names the field and the rule)', () => {
  it.each([
    // field, value, reason
    ['token_endpoint', 'https://evil.example.net/token', /^token_endpoint is on evil\.example\.net, which is neither/],
    ['token_endpoint', 'https://idp.example.com:6379/token', /^token_endpoint is on idp\.example\.com:6379/],
    ['token_endpoint', 'https://10.0.0.8/token', /^token_endpoint is on 10\.0\.0\.8/],
    ['token_endpoint', 'not a url', /^token_endpoint is not an absolute URL$/],
    ['token_endpoint', 'javascript:alert(1)', /^token_endpoint must use https$/],
    ['token_endpoint', 'http://idp.example.com/token', /^token_endpoint must use https$/],
    ['token_endpoint', 'https://user:pw@idp.example.com/token', /^token_endpoint must not carry credentials$/],
    ['token_endpoint', 'https://idp.example.com/token#x', /^token_endpoint must not have a fragment$/],
    ['token_endpoint', 42, /^token_endpoint is not a string$/],
    [
      'token_endpoint',
      `https://idp.example.com/${'a'.repeat(5000)}`,
      /^token_endpoint is longer than 2048 characters$/,
    ],
    ['token_endpoint', 'https://idp.example.com/t\u0000ken', /^token_endpoint contains NUL/],
    ['registration_endpoint', 'https://evil.example.net/reg', /^registration_endpoint is on evil\.example\.net/],
    ['registration_endpoint', 'https://127.0.0.1:6379/reg', /^registration_endpoint is on 127\.0\.0\.1:6379/],
    ['jwks_uri', 'https://evil.example.net/jwks', /^jwks_uri is on evil\.example\.net/],
    ['jwks_uri', 'file:///etc/passwd', /^jwks_uri must use https$/],
    [
      'mtls_endpoint_aliases',
      { token_endpoint: 'https://mtls.example.net/token' },
      /^mtls_endpoint_aliases\.token_endpoint is on mtls\.example\.net/,
    ],
    ['mtls_endpoint_aliases', ['https://idp.example.com/token'], /^mtls_endpoint_aliases is not a JSON object$/],
    [
      'mtls_endpoint_aliases',
      { 'bad name\u0000': 'https://idp.example.com/t' },
      /^mtls_endpoint_aliases has a member name that is not a metadata name$/,
    ],
  ])('%s = %j is refused', (field, value, reason) => {
    const parsed = parse({ [field]: value });
    expect(parsed).toEqual({ ok: false, reason: expect.stringMatching(reason) });
    if (!parsed.ok) expect(parsed.reason.length).toBeLessThan(300);
  });

  it('never quotes a huge host back', () => {
    const parsed = parse({
      token_endpoint: `https://${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example/token`,
    });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason.length).toBeLessThan(300);
  });

  it('accepts endpoints on the issuer host, and on the hosts the server trusts', () => {
    expect(
      parse({ jwks_uri: `${ISSUER}/jwks`, mtls_endpoint_aliases: { token_endpoint: `${ISSUER}/mtls/token` } }),
    ).toMatchObject({
      ok: true,
      capabilities: { tokenEndpoint: `${ISSUER}/token`, registrationEndpoint: `${ISSUER}/reg` },
    });
    // Okta / Entra style: mTLS aliases on another host the operator trusts.
    const aliases = { token_endpoint: 'https://mtls.idp.example.com/token' };
    expect(parse({ mtls_endpoint_aliases: aliases }).ok).toBe(false);
    expect(parse({ mtls_endpoint_aliases: aliases }, ['mtls.idp.example.com'])).toMatchObject({
      ok: true,
      capabilities: { mtlsEndpointAliases: aliases },
    });
    // A trusted host with a port is that port only; without one, 443.
    expect(
      parse({ token_endpoint: 'https://backchannel.example.com:8443/token' }, ['backchannel.example.com']).ok,
    ).toBe(false);
    expect(
      parse({ token_endpoint: 'https://backchannel.example.com:8443/token' }, ['backchannel.example.com:8443']).ok,
    ).toBe(true);
  });

  it('takes http only from an http issuer (an allowlisted loopback test server), on its own host and port', () => {
    const issuer = 'http://127.0.0.1:4000';
    expect(parse({}, [], issuer).ok).toBe(true);
    expect(parse({ token_endpoint: 'http://127.0.0.1:6379/token' }, [], issuer)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^token_endpoint is on 127\.0\.0\.1:6379/),
    });
    // Trusting a host does not let an endpoint reach an address the outbound allowlist refuses.
    expect(parse({ token_endpoint: 'http://127.0.0.1:6379/token' }, ['127.0.0.1:6379'], issuer)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^token_endpoint is on an address Keyshift may not reach/),
    });
  });

  it('cuts a wrong issuer short in the reason', () => {
    const body = Buffer.from(JSON.stringify({ issuer: 'x'.repeat(100_000), token_endpoint: `${ISSUER}/token` }));
    const parsed = parseDiscoveryDocument(body, ISSUER, 'from', endpointScope({ issuer: ISSUER, trustedHosts: [] }));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason.length).toBeLessThan(400);
  });
});

describe('trustedHosts entries', () => {
  it.each([
    [['mtls.idp.example.com', 'idp.example.com:8443', '[::1]:9443'], null],
    [['https://mtls.idp.example.com'], 'trustedHosts[0]'],
    [['ok.example.com', 'idp.example.com/path'], 'trustedHosts[1]'],
    [['idp.example.com:*'], 'trustedHosts[0]'],
    [['idp.example.com:70000'], 'trustedHosts[0]'],
    [[''], 'trustedHosts[0]'],
  ])('%j -> %s', (entries, field) => {
    expect(trustedHostsProblem(entries)?.field ?? null).toBe(field);
  });
});

describe('registrationClientUri must be under the registration endpoint', () => {
  const discovered = {
    issuer: ISSUER,
    trustedHosts: [],
    capabilities: { registrationEndpoint: `${ISSUER}/reg` },
  };
  const undiscovered = { ...discovered, capabilities: null };
  it.each([
    [discovered, `${ISSUER}/reg/abc`, null],
    [discovered, `${ISSUER}/reg/abc?x=1`, null],
    [discovered, `${ISSUER}/reg`, /registration endpoint/],
    [discovered, `${ISSUER}/register/abc`, /registration endpoint/],
    [discovered, `${ISSUER}/other/abc`, /registration endpoint/],
    [discovered, 'https://idp.example.com:8443/tenant/reg/abc', /issuer's host/],
    [discovered, 'https://evil.example.net/tenant/reg/abc', /issuer's host/],
    [discovered, 'http://idp.example.com/tenant/reg/abc', /must use https/],
    [discovered, `${ISSUER}/reg/abc#frag`, /fragment/],
    [undiscovered, `${ISSUER}/anything/abc`, null],
    [undiscovered, 'https://evil.example.net/reg/abc', /issuer's host/],
    [{ ...undiscovered, trustedHosts: ['reg.example.com'] }, 'https://reg.example.com/reg/abc', null],
  ])('%#: %s', (server, uri, problem) => {
    const found = registrationClientUriProblem(uri, server);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
    // An API error never quotes the value back.
    if (found) expect(found).not.toContain('evil');
  });
});
