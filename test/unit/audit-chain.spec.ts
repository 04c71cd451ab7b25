import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import {
  canonicalEventJson,
  canonicalJson,
  ChainedFields,
  ChainHasher,
  ChainVerifier,
  GENESIS_HASH,
  hashEvent,
  keyedHashEvent,
  SegmentVerifier,
} from '@keyshift/features/audit/audit-chain';
import { decodeEvent, EventTextRow, walkSegment } from '@keyshift/features/audit/audit-chain-walk';

/** These chains are unkeyed (as before keyed chains): the hasher's key never applies to them. */
const legacy = new ChainHasher(Buffer.alloc(32), null);

function chain(n: number): (ChainedFields & { hash: string })[] {
  const events: (ChainedFields & { hash: string })[] = [];
  let prevHash = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const e = {
      seq: String(i),
      occurredAt: new Date(1_700_000_000_000 + i),
      actor: 'a',
      action: 'x',
      subjectType: 'client',
      subjectId: `c${i}`,
      before: null,
      after: { i, nested: { b: 1, a: 2 } },
      prevHash,
    };
    const hash = hashEvent(e);
    events.push({ ...e, hash });
    prevHash = hash;
  }
  return events;
}

describe('audit chain', () => {
  it('verifies an intact chain and its head', () => {
    const events = chain(50);
    const v = new ChainVerifier(legacy);
    for (const e of events) expect(v.check(e)).toBeNull();
    expect(v.checkHead('50', events[49].hash)).toBeNull();
  });

  it('hashes canonically: key order does not matter, values do', () => {
    const [e] = chain(1);
    expect(hashEvent({ ...e, after: { nested: { a: 2, b: 1 }, i: 1 } })).toBe(e.hash);
    expect(hashEvent({ ...e, after: { nested: { a: 2, b: 1 }, i: 2 } })).not.toBe(e.hash);
  });

  it.each([
    ['an edited payload', (es: ReturnType<typeof chain>) => (es[9].after = { i: 999 }), '10', 'hash_mismatch'],
    [
      'a rehashed edit',
      (es: ReturnType<typeof chain>) => {
        es[9].actor = 'mallory';
        es[9].hash = hashEvent(es[9]);
      },
      '11',
      'prev_hash_mismatch',
    ],
    ['a deleted event', (es: ReturnType<typeof chain>) => es.splice(9, 1), '10', 'missing_event'],
  ])('names the first broken link after %s', (_, tamper, seq, problem) => {
    const events = chain(20);
    tamper(events);
    const v = new ChainVerifier(legacy);
    const found = events.map((e) => v.check(e)).find(Boolean);
    expect(found).toMatchObject({ seq, problem });
  });

  it('catches events cut from the end through the head', () => {
    const events = chain(5);
    const v = new ChainVerifier(legacy);
    events.slice(0, 3).forEach((e) => v.check(e));
    expect(v.checkHead('5', events[4].hash)).toMatchObject({ problem: 'head_mismatch', seq: '4' });
  });
});

describe('keyed audit chain', () => {
  const key = Buffer.alloc(32, 7);
  /** The chain as Keyshift writes it now: keyed from `keyedFrom` on, unkeyed before (a database from before keyed chains). */
  function keyedChain(n: number, keyedFrom: number): (ChainedFields & { hash: string })[] {
    const hasher = new ChainHasher(key, String(keyedFrom));
    const events = chain(n);
    let prevHash = GENESIS_HASH;
    return events.map((e) => {
      const linked = { ...e, prevHash };
      const hash = hasher.hash(linked);
      prevHash = hash;
      return { ...linked, hash };
    });
  }
  const firstBreak = (events: ReturnType<typeof chain>, hasher: ChainHasher) => {
    const v = new ChainVerifier(hasher);
    return events.map((e) => v.check(e)).find(Boolean) ?? null;
  };

  it('hashes with HMAC-SHA-256 under the key from keyedFrom on, plain SHA-256 before', () => {
    const events = keyedChain(20, 11);
    expect(events[9].hash).toBe(hashEvent(events[9]));
    expect(events[10].hash).toBe(keyedHashEvent(key, events[10]));
    expect(events[10].hash).not.toBe(hashEvent(events[10]));
    expect(firstBreak(events, new ChainHasher(key, '11'))).toBeNull();
  });

  it.each([
    ['unkeyed', (e: ChainedFields) => hashEvent(e)],
    ['wrongly keyed', (e: ChainedFields) => keyedHashEvent(Buffer.alloc(32, 8), e)],
  ])('names an edit rehashed %s to the end, and an unkeyed stretch passed off by moving keyedFrom', (_, rehash) => {
    const events = keyedChain(20, 1);
    let prevHash = events[11].prevHash;
    for (const e of events.slice(11)) {
      if (e.seq === '12') e.actor = 'mallory';
      e.prevHash = prevHash;
      e.hash = rehash(e);
      prevHash = e.hash;
    }
    expect(firstBreak(events, new ChainHasher(key, '1'))).toMatchObject({ seq: '12', problem: 'hash_mismatch' });
    expect(firstBreak(keyedChain(20, 1), new ChainHasher(key, '21'))).toMatchObject({
      seq: '1',
      problem: 'hash_mismatch',
    });
  });
});

/** The hash as it was computed before the fast path: every hash in existing chains was made this way. */
function referenceHash(e: ChainedFields): string {
  return createHash('sha256').update(referenceCanonical(e), 'utf8').digest('hex');
}

/** canonicalJson writes what json-canonicalize writes, or throws where it throws. */
function expectSameAsCanonicalize(value: unknown): void {
  let expected: string | undefined;
  let threw = false;
  try {
    expected = canonicalize(value);
  } catch {
    threw = true;
  }
  if (threw) expect(() => canonicalJson(value)).toThrow();
  else expect(canonicalJson(value)).toBe(expected);
}

/** Any UTF-16 code unit: control characters and lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const anyString = fc.string({ unit: anyCodeUnit });

describe('canonical JSON fast path (byte-identical to json-canonicalize)', () => {
  it('matches RFC 8785 §3.2.2 and §3.2.3 examples verbatim', () => {
    const numbersAndStrings = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(numbersAndStrings)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    const sorting = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(Object.keys(JSON.parse(canonicalJson(sorting)))).toEqual([
      '1',
      '\r',
      '\u0080',
      '\u00f6',
      '\u20ac',
      '\ud83d\ude00',
      '\ufb33',
    ]);
    // Object.keys puts integer-like keys first; the canonical order is by code unit, so check the text.
    expect(canonicalJson(sorting).indexOf('"\\r"')).toBeLessThan(canonicalJson(sorting).indexOf('"1"'));
  });

  it.each<[string, unknown]>([
    [
      'unicode strings',
      { s: 'ü ✓ 😀 👩‍👩‍👧 e\u0301 \u2028\u2029', lone: '\ud800 x \udfff', ctl: '\u0000\u001f\b\f\n\r\t"\\/\u007f' },
    ],
    ['numbers', [1e21, 1e-7, -0, 0.1 + 0.2, 5e-324, Number.MAX_VALUE, -1.5e300, 2 ** 53 + 1, 123456789012345680000, 0]],
    ['non-finite numbers', { n: NaN }],
    ['infinity in an array', [Infinity]],
    ['nested arrays', [[[]], [[1, [2, [3, [4, []]]]]], [null, [true, [false]]], []]],
    [
      'key order with non-ASCII keys',
      { é: 1, e: 2, z: 3, '€': 4, '😀': 5, '\uffff': 6, ﬀ: 7, '10': 8, '2': 9, '': 10, A: 11, a: 12 },
    ],
    ['undefined members and elements', { a: undefined, b: [undefined, 1], c: { d: undefined } }],
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    [
      'an object with a toJSON member (emitted unsorted, as canonicalize does)',
      { toJSON: 'x', b: 1, a: { d: 1, c: 2 } },
    ],
    ['a Date inside', { at: new Date(1_700_000_000_123), z: 1 }],
    ['a __proto__ member, as JSON.parse creates it', JSON.parse('{"__proto__": {"b": 1, "a": 2}, "x": [1]}')],
    ['a null-prototype object', Object.assign(Object.create(null), { b: 1, a: 2 })],
    ['boxed values', [new Number(1), new String('ab'), new Boolean(false)]],
    ['a Map and a typed array', { m: new Map([['a', 1]]), t: new Uint8Array([3, 1, 2]) }],
    ['a function and a symbol member', { f: () => 1, s: Symbol('s'), a: [() => 1] }],
    ['a bigint', { n: 1n }],
    ['undefined at the top', undefined],
    ['plain scalars', 'plain'],
    ['an empty object', {}],
  ])('writes %s exactly as canonicalize does', (_, value) => expectSameAsCanonicalize(value));

  it('writes any JSON value exactly as canonicalize does (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: anyCodeUnit }), (value) => expectSameAsCanonicalize(value)),
      {
        numRuns: 2_000,
      },
    );
  });

  it('writes anything JavaScript exactly as canonicalize does (fast-check)', () => {
    const anything = fc.anything({
      key: anyString,
      stringUnit: anyCodeUnit,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withBigInt: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
    });
    fc.assert(
      fc.property(anything, (value) => expectSameAsCanonicalize(value)),
      { numRuns: 2_000 },
    );
  });

  it('hashes events exactly as before the fast path (fast-check)', () => {
    const payload = fc.option(fc.dictionary(anyString, fc.jsonValue({ stringUnit: anyCodeUnit })), { nil: null });
    const event = fc.record({
      seq: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
      occurredAt: fc.date({ noInvalidDate: true }),
      actor: anyString,
      action: anyString,
      subjectType: anyString,
      subjectId: anyString,
      before: payload,
      after: payload,
      prevHash: fc.oneof(fc.constant(GENESIS_HASH), fc.stringMatching(/^[0-9a-f]{64}$/)),
    });
    fc.assert(
      fc.property(event, (e) => {
        expect(hashEvent(e)).toBe(referenceHash(e));
      }),
      { numRuns: 2_000 },
    );
  });

  it('hashes events off the typed path (a missing payload, a number seq) as before', () => {
    const [e] = chain(1);
    const odd = [
      { ...e, before: undefined },
      { ...e, after: undefined, before: undefined },
      { ...e, seq: 7 },
    ] as unknown as ChainedFields[];
    for (const o of odd) expect(canonicalEventJson(o)).toBe(referenceCanonical(o));
  });

  it('still verifies a chain hashed the old way', () => {
    let prevHash = GENESIS_HASH;
    const v = new ChainVerifier(legacy);
    for (let i = 1; i <= 20; i++) {
      const e = { ...chain(1)[0], seq: String(i), after: { i, text: 'ü ✓ 😀', n: [1e21, -0, 0.5] }, prevHash };
      const hash = referenceHash(e);
      expect(v.check({ ...e, hash })).toBeNull();
      prevHash = hash;
    }
  });
});

function referenceCanonical(e: ChainedFields): string {
  return canonicalize({
    seq: e.seq,
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    before: e.before,
    after: e.after,
    prevHash: e.prevHash,
  });
}

type Tamper = { kind: 'none' } | { kind: 'edit' | 'rehash' | 'delete' | 'swap'; at: number };

function tamper(events: ReturnType<typeof chain>, t: Tamper): ReturnType<typeof chain> {
  const es = events.map((e) => ({ ...e }));
  if (t.kind === 'none' || t.at >= es.length) return es;
  if (t.kind === 'edit') es[t.at].after = { edited: true };
  if (t.kind === 'rehash') {
    es[t.at].actor = 'mallory';
    es[t.at].hash = hashEvent(es[t.at]);
  }
  if (t.kind === 'delete') es.splice(t.at, 1);
  if (t.kind === 'swap' && t.at + 1 < es.length) [es[t.at], es[t.at + 1]] = [es[t.at + 1], es[t.at]];
  return es;
}

describe('segments verified apart and joined in order', () => {
  it('report what one sequential walk reports: first break, events checked, tip (fast-check)', () => {
    const arb = fc.record({
      n: fc.integer({ min: 0, max: 40 }),
      tamper: fc.oneof(
        fc.constant<Tamper>({ kind: 'none' }),
        fc.record({
          kind: fc.constantFrom('edit', 'rehash', 'delete', 'swap'),
          at: fc.nat(39),
        }) as fc.Arbitrary<Tamper>,
      ),
      cuts: fc.uniqueArray(fc.nat(40), { maxLength: 8 }),
    });
    fc.assert(
      fc.property(arb, ({ n, tamper: t, cuts }) => {
        const events = tamper(chain(n), t);
        const sequential = new ChainVerifier(legacy);
        let seqBreak: ReturnType<ChainVerifier['check']> = null;
        for (const e of events) if ((seqBreak = sequential.check(e))) break;

        const bounds = [0, ...cuts.filter((c) => c <= events.length).sort((a, b) => a - b), events.length];
        const joined = new ChainVerifier(legacy);
        let joinBreak: ReturnType<ChainVerifier['join']> = null;
        for (let i = 0; i + 1 < bounds.length && !joinBreak; i++) {
          const segment = new SegmentVerifier(legacy);
          for (const e of events.slice(bounds[i], bounds[i + 1])) if (!segment.add(e)) break;
          joinBreak = joined.join(segment.summary());
        }
        expect(joinBreak).toEqual(seqBreak);
        expect(joined.checked).toBe(sequential.checked);
        expect(joined.tip).toEqual(sequential.tip);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** Events as the verification query returns them: text columns, PostgreSQL's timestamptz format. */
function textRows(events: ReturnType<typeof chain>): EventTextRow[] {
  return events.map((e) => ({
    seq: e.seq,
    occurred_at: e.occurredAt.toISOString().replace('T', ' ').replace('Z', '+00'),
    actor: e.actor,
    action: e.action,
    subject_type: e.subjectType,
    subject_id: e.subjectId,
    before: e.before && JSON.stringify(e.before),
    after: e.after && JSON.stringify(e.after),
    prev_hash: e.prevHash,
    hash: e.hash,
  }));
}

describe('walking a segment', () => {
  const rows = textRows(chain(3_000));
  const query = async (from: string, to: string) =>
    rows.filter((r) => BigInt(r.seq) > BigInt(from) && BigInt(r.seq) <= BigInt(to));

  it('decodes text rows to the events they were hashed from', () => {
    const [e] = chain(1);
    expect(decodeEvent(textRows([e])[0])).toEqual(e);
  });

  it('verifies (from, to] in batches, naming the first break', async () => {
    expect(await walkSegment(query, 0n, 3_000n, { batch: 700, sliceMs: Infinity }, legacy)).toEqual({
      checked: 3_000,
      first: { seq: '1', prevHash: GENESIS_HASH },
      last: { seq: '3000', hash: rows[2_999].hash },
      firstBreak: null,
    });
    const tampered = rows.map((r) => (r.seq === '1234' ? { ...r, after: '{"i": 0}' } : r));
    const walked = await walkSegment(
      async (a, b) => tampered.filter((r) => BigInt(r.seq) > BigInt(a) && BigInt(r.seq) <= BigInt(b)),
      1_000n,
      3_000n,
      { batch: 700, sliceMs: Infinity },
      legacy,
    );
    expect(walked).toMatchObject({ checked: 233, firstBreak: { seq: '1234', problem: 'hash_mismatch' } });
  });

  it('yields to other work between slices, so requests on the same thread interleave', async () => {
    let done = false;
    let others = 0;
    const other = () => {
      others++;
      if (!done) setImmediate(other);
    };
    setImmediate(other);
    // One batch holds every row: without slicing, nothing else would run until the walk ends.
    const summary = await walkSegment(query, 0n, 3_000n, { batch: 5_000, sliceMs: 0 }, legacy);
    done = true;
    expect(summary.checked).toBe(3_000);
    expect(others).toBeGreaterThan(10);
  });
});
