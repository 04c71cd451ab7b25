/**
 * The two RFC 8785 canonicalisers side by side, in the same run, on the audit chain's own input:
 *   (a) `canonicalEventJson` (libs/features/audit/audit-chain.ts: the hand-written fast path the
 *       chain hashes with), and
 *   (b) `canonicalize` from json-canonicalize (the reference; existing chains were hashed with it),
 *       over the same event object (occurredAt as its ISO string, as the chain hashes it).
 * The events are the mix bench/reports.bench.ts seeds its 1,000,000-event chain with (transitions
 * with before and after summaries, secret accesses, probes, key events, imports), decoded from
 * jsonb text as a verification decodes them. Each side is checked to write the same bytes first.
 * Prints ops/s of each, the ratio, and what the difference is worth on a 1M-event full
 * verification (whose target is < 20 s; docs/benchmarks.md). Asserts nothing; no database.
 * Usage: npm run bench:canonicalize   (BENCH_EVENTS, BENCH_ROUNDS to change the size)
 */
import { canonicalize } from 'json-canonicalize';
import { canonicalEventJson, ChainedFields, GENESIS_HASH } from '@keyshift/features/audit/audit-chain';
import { fmt } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const VERIFY_EVENTS = 1_000_000;

function summary(i: number, version: number, phase: string, state: string) {
  return {
    clientId: `bench-client-${i}`,
    authorizationServerId: '01JB0000000000000000000000',
    authMethod: 'client_secret_basic',
    secret: 'present',
    hasRegistrationAccessToken: true,
    target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place', cutover: 'confirm' },
    owner: `owner-${i % 200}`,
    tags: [`wave-${i % 5}`, i % 7 ? 'internal' : 'partner'],
    phase,
    state,
    paused: false,
    stateReason: state === 'waiting' ? 'soaking: 3 of 5 successful key requests' : null,
    atServer: {
      keys: { delivery: 'jwks_uri', jwksUri: `https://keyshift.example/jwks/c${i}.json`, kids: [`kid-c${i}`] },
    },
    successorClientId: null,
    revertPending: false,
    version,
  };
}

/** The reports bench's mix, by i % 20. */
function payloads(i: number): { action: string; subjectType: string; before: object | null; after: object } {
  const kind = i % 20;
  if (kind < 7) {
    const type = ['evidence', 'advance', 'gate_passed', 'retry', 'soak_passed', 'rollback', 'cutover_confirmed'][i % 7];
    return {
      action: `client.${type}`,
      subjectType: 'client',
      before: summary(i, i % 9, 'cutover', 'running'),
      after: {
        ...summary(i, (i % 9) + 1, 'cutover', i % 2 ? 'waiting' : 'pending'),
        event: { type, at: new Date(1_760_000_000_000 + i * 1000).toISOString(), ok: i % 5 !== 0 },
        effects: i % 4 ? [] : [{ type: 'shred_secret' }, { type: 'probe', method: 'private_key_jwt', dpop: true }],
      },
    };
  }
  if (kind < 15)
    return {
      action: 'client.secret_accessed',
      subjectType: 'client',
      before: null,
      after: { field: 'secret', purpose: 'probe' },
    };
  if (kind < 17)
    return {
      action: 'client.probe_requested',
      subjectType: 'client',
      before: null,
      after: { method: i % 2 ? 'client_secret_post' : 'private_key_jwt', dpop: i % 3 === 0, latencyMs: 17 + (i % 200) },
    };
  if (kind < 19)
    return {
      action: 'client_key.created',
      subjectType: 'client_key',
      before: null,
      after: { clientId: `c${i}`, kid: `kid-c${i}-${i % 2}`, alg: 'ES256', state: 'active', thumbprint: `t-${i}` },
    };
  return {
    action: 'client.imported',
    subjectType: 'client',
    before: null,
    after: summary(i, 1, 'vendor_check', 'pending'),
  };
}

function events(): ChainedFields[] {
  return Array.from({ length: EVENTS }, (_, k) => {
    const i = k + 1;
    const p = payloads(i);
    return {
      seq: String(i),
      occurredAt: new Date(1_750_000_000_000 + i * 7_000),
      actor: i % 3 ? 'worker' : 'api-token:bootstrap-admin',
      action: p.action,
      subjectType: p.subjectType,
      subjectId: `01JC${String(i).padStart(22, '0')}`,
      // As a verification decodes them: parsed from jsonb's text.
      before: p.before && (JSON.parse(JSON.stringify(p.before)) as Record<string, unknown>),
      after: JSON.parse(JSON.stringify(p.after)) as Record<string, unknown>,
      prevHash: GENESIS_HASH,
    };
  });
}

/** The reference, over the object the chain hashes: the event with occurredAt as its ISO string. */
function reference(e: ChainedFields): string {
  return canonicalize({ ...e, occurredAt: e.occurredAt.toISOString() });
}

/** Best of ROUNDS (after one warm-up round), in ops/s; the sink keeps the work from being optimised away. */
function opsPerSecond(fn: (e: ChainedFields) => string, input: ChainedFields[]): number {
  let sink = 0;
  let best = Infinity;
  for (let round = 0; round <= ROUNDS; round++) {
    const started = performance.now();
    for (const e of input) sink += fn(e).length;
    const ms = performance.now() - started;
    if (round > 0) best = Math.min(best, ms);
  }
  if (sink === 0) throw new Error('nothing written');
  return input.length / (best / 1000);
}

function main(): void {
  const input = events();
  for (const e of input) {
    if (canonicalEventJson(e) !== reference(e)) throw new Error(`event ${e.seq}: the canonicalisers disagree`);
  }
  const bytes = input.reduce((n, e) => n + Buffer.byteLength(reference(e)), 0) / input.length;
  // Interleaved, twice each, so neither side gets only the warmer or the cooler half of a noisy machine.
  const fast = opsPerSecond(canonicalEventJson, input);
  const ref = opsPerSecond(reference, input);
  const fast2 = opsPerSecond(canonicalEventJson, input);
  const ref2 = opsPerSecond(reference, input);
  const a = Math.max(fast, fast2);
  const b = Math.max(ref, ref2);
  const perMillion = (ops: number) => VERIFY_EVENTS / ops;
  const lines = [
    `canonicalize: ${EVENTS} audit events of the reports bench's mix (${fmt(bytes, 0)} bytes of canonical JSON on average), best of ${ROUNDS} rounds, twice each`,
    `canonicalize: canonicalEventJson (hand-written): ${fmt(a / 1000, 1)}k ops/s`,
    `canonicalize: json-canonicalize canonicalize:    ${fmt(b / 1000, 1)}k ops/s`,
    `canonicalize: ratio hand-written / json-canonicalize: ${fmt(a / b, 2)}x`,
    `canonicalize: CPU for ${VERIFY_EVENTS.toLocaleString('en')} events (one thread): hand-written ${fmt(perMillion(a), 2)} s, ` +
      `json-canonicalize ${fmt(perMillion(b), 2)} s, difference ${fmt(perMillion(b) - perMillion(a), 2)} s ` +
      `(full verify target < 20 s; measured 15.6 to 18.5 s, docs/benchmarks.md)`,
  ];
  console.log(lines.join('\n'));
}

main();
