import { HostPort, loadConfig, parseHostPort } from '@keyshift/config';
import { isAllowlisted, isForbiddenAddress, normalizeHost, urlProblem } from '@keyshift/outbound';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';

describe('outbound address policy: IPv6 forms that embed an IPv4 address', () => {
  it.each([
    // IPv4-compatible (::/96, deprecated): refused whatever it carries
    ['::7f00:2', true],
    ['::127.0.0.2', true],
    ['::808:808', true],
    // IPv4-mapped (::ffff:0:0/96): judged by the IPv4 address, hex or dotted
    ['::ffff:7f00:2', true],
    ['::ffff:127.0.0.2', true],
    ['::ffff:a9fe:a9fe', true],
    ['::ffff:a00:1', true],
    ['::ffff:808:808', false],
    // IPv4-translated (::ffff:0:0:0/96): refused
    ['::ffff:0:7f00:2', true],
    ['::ffff:0:808:808', true],
    // NAT64 well-known prefix: judged by the embedded address (DNS64 networks use it for public hosts)
    ['64:ff9b::7f00:1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['64:ff9b::808:808', false],
    // local-use NAT64: refused
    ['64:ff9b:1::808:808', true],
    // 6to4: judged by the embedded address
    ['2002:7f00:1::1', true],
    ['2002:a9fe:a9fe::1', true],
    ['2002:808:808::1', false],
    // Teredo: refused
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true],
    // native IPv6
    ['::', true],
    ['::1', true],
    ['fe80::1', true],
    ['fd00:ec2::254', true],
    ['fec0::1', true],
    ['ff02::1', true],
    ['2606:4700:4700::1111', false],
    // IPv4
    ['127.0.0.2', true],
    ['100.100.100.200', true],
    ['8.8.8.8', false],
  ])('%s forbidden=%s', (address, forbidden) => {
    expect(isForbiddenAddress(address)).toBe(forbidden);
  });

  it('refuses the embedded forms written as URL hosts, before any connection', () => {
    for (const host of [
      '[::7f00:2]',
      '[::ffff:0:7f00:2]',
      '[::ffff:127.0.0.1]',
      '[64:ff9b::a9fe:a9fe]',
      '[2002:7f00:1::]',
    ]) {
      expect(urlProblem(new URL(`https://${host}/token`), [])).toMatch(/not publicly routable/);
    }
  });
});

const entry = (text: string): HostPort => {
  const parsed = parseHostPort(text, { wildcard: true });
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed;
};

describe('outbound allowlist entries are host:port', () => {
  it.each([
    // entry, destination URL, allowed
    ['127.0.0.1:4000', 'http://127.0.0.1:4000/', true],
    ['127.0.0.1:4000', 'https://127.0.0.1:4000/', true],
    ['127.0.0.1:4000', 'http://127.0.0.1:6379/', false],
    ['127.0.0.1:4000', 'http://127.0.0.1:5432/', false],
    ['127.0.0.1:4000', 'http://127.0.0.1/', false],
    ['127.0.0.1:4000', 'http://127.0.0.2:4000/', false],
    // a bare host is https on 443, and only that
    ['idp.internal', 'https://idp.internal/', true],
    ['idp.internal', 'https://IDP.internal:443/', true],
    ['idp.internal', 'http://idp.internal/', false],
    ['idp.internal', 'http://idp.internal:443/', false],
    ['idp.internal', 'https://idp.internal:8443/', false],
    // an explicit any-port wildcard (tests and demos)
    ['127.0.0.1:*', 'http://127.0.0.1:6379/', true],
    ['127.0.0.1:*', 'http://127.0.0.2:6379/', false],
    // IPv6
    ['[::1]:8443', 'https://[::1]:8443/', true],
    ['[::1]:8443', 'https://[::1]:8444/', false],
    ['::1', 'https://[::1]/', true],
  ])('%s allows %s: %s', (text, url, allowed) => {
    const u = new URL(url);
    expect(
      isAllowlisted([entry(text)], {
        protocol: u.protocol,
        hostname: u.hostname,
        port: Number(u.port) || (u.protocol === 'http:' ? 80 : 443),
      }),
    ).toBe(allowed);
    // On its text alone a URL is refused when it is http or an address literal that is not allowed;
    // an https hostname is judged again on its resolved address at connect time.
    if (u.protocol === 'http:' || isIP(normalizeHost(u.hostname))) {
      expect(urlProblem(u, [entry(text)]) === null).toBe(allowed);
    }
  });

  it('parses the variable into entries and names a bad entry by position, never echoing it', () => {
    const base = { KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'), KEYSHIFT_ADMIN_TOKEN: 'a'.repeat(40) };
    expect(
      loadConfig({ ...base, KEYSHIFT_OUTBOUND_ALLOWLIST: ' 127.0.0.1:4000, IdP.internal ,[::1]:8443,localhost:*' })
        .outbound.allowlist,
    ).toEqual([
      { host: '127.0.0.1', port: 4000 },
      { host: 'idp.internal', port: null },
      { host: '::1', port: 8443 },
      { host: 'localhost', port: '*' },
    ]);
    for (const bad of ['http://127.0.0.1:4000', '127.0.0.1:99999', '127.0.0.1:4000/path', 'user@host:1', 'host:abc']) {
      try {
        loadConfig({ ...base, KEYSHIFT_OUTBOUND_ALLOWLIST: `127.0.0.1:1,${bad}` });
        throw new Error(`accepted ${bad}`);
      } catch (error) {
        const problems = (error as { problems?: { variable: string; message: string }[] }).problems;
        expect(problems).toEqual([
          { variable: 'KEYSHIFT_OUTBOUND_ALLOWLIST', message: expect.stringMatching(/^entry 2 /) },
        ]);
        expect(problems![0].message).not.toContain(bad);
      }
    }
  });
});
