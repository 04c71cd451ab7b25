import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { canonicalEventJson, canonicalJson, ChainedFields, GENESIS_HASH } from '@keyshift/features/audit/audit-chain';

/**
 * The hand-written canonicaliser (audit-chain.ts) is kept only because the full verification needs
 * its speed (bench/canonicalize.bench.ts); it must write byte for byte what json-canonicalize writes,
 * which every existing chain was hashed with. test/unit/audit-chain.spec.ts has the edge cases.
 */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const anyString = fc.string({ unit: anyCodeUnit });

describe('canonicalJson agrees with json-canonicalize byte for byte', () => {
  it('on any JSON value (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: anyCodeUnit }), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 3_000 },
    );
  });

  it('on any audit event (fast-check)', () => {
    const payload = fc.option(fc.dictionary(anyString, fc.jsonValue({ stringUnit: anyCodeUnit })), { nil: null });
    const event: fc.Arbitrary<ChainedFields> = fc.record({
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
        expect(canonicalEventJson(e)).toBe(canonicalize({ ...e, occurredAt: e.occurredAt.toISOString() }));
      }),
      { numRuns: 3_000 },
    );
  });
});
