import { ChainedFields, ChainVerifier, GENESIS_HASH, hashEvent } from '@keyshift/features/audit/audit-chain';

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
    const v = new ChainVerifier();
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
    const v = new ChainVerifier();
    const found = events.map((e) => v.check(e)).find(Boolean);
    expect(found).toMatchObject({ seq, problem });
  });

  it('catches events cut from the end through the head', () => {
    const events = chain(5);
    const v = new ChainVerifier();
    events.slice(0, 3).forEach((e) => v.check(e));
    expect(v.checkHead('5', events[4].hash)).toMatchObject({ problem: 'head_mismatch', seq: '4' });
  });
});
