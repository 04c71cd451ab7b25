import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '@keyshift/config';

const valid = { KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'), KEYSHIFT_ADMIN_TOKEN: 'a'.repeat(40) };

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.message}`);
  }
  return [];
}

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/keyshift');
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'keyshift' });
    expect(config.api).toMatchObject({ port: 3000, importMaxRows: 10_000, publicUrl: 'http://127.0.0.1:3000' });
    expect(config.outbound.allowlist).toEqual([]);
  });

  it('names every missing required variable', () => {
    expect(problemsOf({})).toEqual(['KEYSHIFT_MASTER_KEY: is required', 'KEYSHIFT_ADMIN_TOKEN: is required']);
  });

  it('names malformed variables with what is expected', () => {
    const problems = problemsOf({
      ...valid,
      KEYSHIFT_MASTER_KEY: 'dG9vIHNob3J0',
      DATABASE_URL: 'mysql://x',
      KEYSHIFT_API_PORT: '99999',
      KEYSHIFT_LOG_LEVEL: 'loud',
      KEYSHIFT_RUN_MIGRATIONS: 'yes',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^KEYSHIFT_MASTER_KEY: must be 32 bytes/),
        expect.stringMatching(/^DATABASE_URL: must be a postgres/),
        expect.stringMatching(/^KEYSHIFT_API_PORT: /),
        expect.stringMatching(/^KEYSHIFT_LOG_LEVEL: /),
        expect.stringMatching(/^KEYSHIFT_RUN_MIGRATIONS: /),
      ]),
    );
  });

  it('parses which proxies are trusted for the caller address, and names a bad entry by position', () => {
    expect(loadConfig(valid).api.trustProxy).toBe(false);
    expect(loadConfig({ ...valid, KEYSHIFT_TRUST_PROXY: '1' }).api.trustProxy).toBe(1);
    expect(loadConfig({ ...valid, KEYSHIFT_TRUST_PROXY: ' 10.0.0.5, 10.1.0.0/16,::1 ' }).api.trustProxy).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
      '::1',
    ]);
    expect(problemsOf({ ...valid, KEYSHIFT_TRUST_PROXY: '10.0.0.5,proxy.internal' })).toEqual([
      'KEYSHIFT_TRUST_PROXY: entry 2 is not an IP address or CIDR range',
    ]);
  });

  it('parses the outbound allowlist', () => {
    expect(
      loadConfig({ ...valid, KEYSHIFT_OUTBOUND_ALLOWLIST: ' 127.0.0.1, IdP.internal ,' }).outbound.allowlist,
    ).toEqual([
      { host: '127.0.0.1', port: null },
      { host: 'idp.internal', port: null },
    ]);
  });
});
