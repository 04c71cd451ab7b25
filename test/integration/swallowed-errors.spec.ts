import { Writable } from 'node:stream';
import { Test, TestingModule } from '@nestjs/testing';
import { LOGGER } from '@keyshift/common';
import { Role } from '@keyshift/features/api-tokens/api-token.entity';
import { AuthorizationServersService } from '@keyshift/features/authorization-servers/authorization-servers.service';
import { ReportFormat, ReportKind } from '@keyshift/features/reports/report.entity';
import { ReportRuns } from '@keyshift/features/reports/report-runs.service';
import Redis from 'ioredis';
import pino from 'pino';
import { ApiModule } from '../../apps/api/src/api.module';
import { anAuthorizationServer } from '../support/factories';
import { startPrivateRedis, PrivateRedis } from '../support/private-redis';
import { createTestDatabase, TestDatabase, testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const operator = { tokenId: 't', name: 'ops', role: Role.Operator };

/** Failures that used to vanish (`.catch(() => undefined)`, empty error listeners) now leave a warn line with context. */
describe('errors that were swallowed are logged at warn, with context and no secret', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let api: TestingModule;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis()]);
    const config = testConfig(db, { REDIS_URL: redis.url });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    api = await Test.createTestingModule({ imports: [ApiModule.register(config)] })
      .overrideProvider(LOGGER)
      .useValue(pino({ level: 'warn' }, sink))
      .compile();
    await api.init();
  });
  afterAll(async () => {
    await api.close();
    await Promise.all([redis.stop(), db.drop()]);
  });

  const warns = (msg: string) => lines.filter((l) => l.level === 40 && String(l.msg).includes(msg));

  /** Redis refuses every write (as a full Redis does) while reads and the connection stay up. */
  async function withRedisRefusingWrites(fn: () => Promise<void>): Promise<void> {
    const admin = new Redis(redis.url);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      await fn();
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  }

  it('a server created while its discovery cannot be queued: created, and the failure logged with its id', async () => {
    await withRedisRefusingWrites(async () => {
      const server = await api.get(AuthorizationServersService).create(anAuthorizationServer() as never, operator);
      expect(server.id).toEqual(expect.any(String));
      const [line] = warns('discovery could not be queued');
      expect(line).toMatchObject({ authorizationServerId: server.id, err: expect.stringContaining('OOM') });
    });
  });

  it('a report requested while its render job cannot be queued: requested, and the failure logged with its id', async () => {
    await withRedisRefusingWrites(async () => {
      const report = await api.get(ReportRuns).request(ReportKind.Estate, ReportFormat.Json, {}, 'api-token:t');
      const [line] = warns('render job could not be queued');
      expect(line).toMatchObject({ reportId: report.id, kind: 'estate', err: expect.stringContaining('OOM') });
    });
  });

  it('a lost Redis connection is logged once per outage, not once per reconnect attempt', async () => {
    await redis.stop();
    // ioredis retries every 100-2000 ms; over 4 s that is several attempts, each an 'error' event.
    await new Promise((r) => setTimeout(r, 4_000));
    const refused = warns('Redis error').filter((l) => String(l.err).includes('ECONNREFUSED'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ connection: expect.any(String) });
    expect(JSON.stringify(refused[0])).not.toContain('password');
    // Back up: the next outage is news again.
    await redis.restart();
    const before = warns('Redis error').length;
    await waitFor(
      async () => (await api.get(AuthorizationServersService).create(anAuthorizationServer() as never, operator)).id,
      (id) => typeof id === 'string',
    );
    await redis.stop();
    await waitFor(
      async () => warns('Redis error').length,
      (n) => n > before,
      5_000,
    );
    expect(warns('Redis error').length).toBe(before + 1);
    await redis.restart();
  });
});
