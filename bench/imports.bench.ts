/**
 * Issue 12's figure: peak RSS of the API process while six 15 MB CSV imports arrive at once, with
 * the import concurrency cap off (every import runs at once, as before) and on (the defaults: two
 * per token, four in all; a refused import waits its Retry-After and tries again, as a client
 * should), same run, same machine, each on a freshly started API (default settings otherwise) and a
 * fresh database, so both do the same work: 6 x 10,000 clients created.
 * Usage: npm run bench:imports  (BENCH_IMPORTS, default 6; BENCH_IMPORT_MB, default 15)
 */
import { randomBytes } from 'node:crypto';
import { admin, fmt, startApi } from './support';

const IMPORTS = Number(process.env.BENCH_IMPORTS ?? 6);
const IMPORT_BYTES = Number(process.env.BENCH_IMPORT_MB ?? 15) * 1_000_000;

const HEADER =
  'authorizationServerId,clientId,authMethod,clientSecret,target.authMethod,target.senderConstraint,target.strategy,owner,tags';

/** Rows per import: KEYSHIFT_IMPORT_MAX_ROWS's default, so the API runs with its defaults. */
const ROWS = 10_000;

/**
 * A CSV of ROWS valid, distinct clients, about `bytes` long: each row carries tags (up to 50 of up
 * to 64 characters are valid) to reach the size, as an estate with rich tagging would.
 */
function csvOf(serverId: string, prefix: string, bytes: number): string {
  const lines = [HEADER];
  const rowBytes = Math.floor(bytes / ROWS);
  for (let i = 0; i < ROWS; i++) {
    const head = `${serverId},${prefix}-${i},client_secret_basic,${randomBytes(24).toString('base64url')},private_key_jwt,dpop,in_place,team-${i % 50},`;
    const tags: string[] = [];
    for (let t = 0; head.length + tags.join(';').length < rowBytes && t < 50; t++) {
      tags.push(`${prefix}-${i}-tag-${t}-${'x'.repeat(40)}`.slice(0, 64));
    }
    lines.push(head + tags.join(';'));
  }
  return lines.join('\n');
}

interface Outcome {
  label: string;
  bootRssMiB: number;
  peakRssMiB: number;
  seconds: number;
  refused: number;
  created: number;
  statuses: string;
}

async function run(label: string, env: Record<string, string>): Promise<Outcome> {
  const database = `keyshift_bench_imports_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const api = await startApi(database, 3404, {
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
    ...env,
  });
  try {
    const headers = { Authorization: `Bearer ${api.token}` };
    const server = (await (
      await fetch(`${api.base}/v1/authorization-servers`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', issuer: 'https://as.example.com', connector: { type: 'rfc7592' } }),
      })
    ).json()) as { id: string };
    const bodies = Array.from({ length: IMPORTS }, (_, i) => csvOf(server.id, `imp${i}`, IMPORT_BYTES));
    const bootRssMiB = api.peakRssMiB();
    let refused = 0;
    const statuses: number[] = [];
    const started = Date.now();
    const created = await Promise.all(
      bodies.map(async (body) => {
        for (;;) {
          const res = await fetch(`${api.base}/v1/clients/import`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'text/csv' },
            body,
          });
          statuses.push(res.status);
          if (res.status === 429) {
            refused++;
            await res.arrayBuffer();
            await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
            continue;
          }
          const report = (await res.json()) as { created?: number };
          return report.created ?? 0;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const counts = new Map<number, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    return {
      label,
      bootRssMiB,
      peakRssMiB: api.peakRssMiB(),
      seconds,
      refused,
      created: created.reduce((a, b) => a + b, 0),
      statuses: [...counts].map(([s, n]) => `${n}x${s}`).join(' '),
    };
  } finally {
    await api.stop();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

async function main(): Promise<void> {
  const off = await run('cap off (100 per token, 100 in all)', {
    KEYSHIFT_IMPORT_CONCURRENCY_PER_TOKEN: '100',
    KEYSHIFT_IMPORT_CONCURRENCY: '100',
  });
  const on = await run('cap on (defaults: 2 per token, 4 in all)', {});
  console.log(`\n${IMPORTS} concurrent CSV imports of ${IMPORT_BYTES / 1_000_000} MB each, one API token`);
  console.log(
    '| configuration | API peak RSS (VmHWM) | RSS after boot | wall time | 429s (retried) | clients created | answers |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const o of [off, on]) {
    console.log(
      `| ${o.label} | **${fmt(o.peakRssMiB, 0)} MiB** | ${fmt(o.bootRssMiB, 0)} MiB | ${fmt(o.seconds)} s | ${o.refused} | ${o.created} | ${o.statuses} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
