import fc from 'fast-check';
import { fieldProblems, isUnstorableText, unstorableTextProblems, VALIDATOR_OPTIONS } from '@keyshift/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../apps/api/src/http/json-body';
import { CreateClientDto } from '@keyshift/features/clients/clients.dto';

describe('JSON depth, counted before parsing', () => {
  const nest = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

  it.each([
    ['flat', '{"a":1}', false],
    ['at the limit', nest(MAX_JSON_DEPTH), false],
    ['one over', nest(MAX_JSON_DEPTH + 1), true],
    ['objects one over', '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1), true],
    ['brackets inside strings do not count', `{"a":"${'['.repeat(500)}"}`, false],
    ['an escaped quote does not end the string', `{"a":"\\"${'{'.repeat(500)}"}`, false],
    ['an escaped backslash does end it', `["\\\\",${nest(MAX_JSON_DEPTH)}]`, true],
    ['siblings do not add up', `[${Array(200).fill(nest(10)).join(',')}]`, false],
  ])('%s', (_, text, deep) => {
    expect(exceedsJsonDepth(text)).toBe(deep);
  });

  it('agrees with the real depth of any JSON value', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object'
        ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
        : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, limit) => {
        expect(exceedsJsonDepth(JSON.stringify(value), limit)).toBe(depthOf(value) > limit);
      }),
      { seed: 12, numRuns: 500 },
    );
  });
});

describe('text PostgreSQL cannot store', () => {
  it.each([
    ['plain', 'team-payments', false],
    ['an emoji (a surrogate pair)', 'pay 😀 ments', false],
    ['CJK and accents', 'équipe 支付', false],
    ['NUL', 'a\u0000b', true],
    ['a lone high surrogate', 'a\ud800', true],
    ['a lone low surrogate', '\udc00b', true],
    ['a reversed pair', '\ude00\ud83d', true],
  ])('%s', (_, text, bad) => {
    expect(isUnstorableText(text)).toBe(bad);
  });

  it('names every offending value and property by its path, never quoting it', () => {
    const problems = unstorableTextProblems({
      ok: 'fine',
      selector: { owner: 'x\u0000', tags: ['a', '\ud800'] },
      ['bad\u0000key']: 1,
    });
    expect(problems.map((p) => p.field).sort()).toEqual(['body', 'selector.owner', 'selector.tags[1]']);
    expect(JSON.stringify(problems)).not.toMatch(/\\u0000|\\ud800|bad/);
  });

  it('walks a deep value without recursion', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableTextProblems(deep)).toHaveLength(1);
  });
});

describe('fieldProblems', () => {
  it('names an unknown property by the object holding it, never by its name', () => {
    const dto = plainToInstance(CreateClientDto, { sk_live_abcdef: 1, target: { hunter2: 1 } });
    const problems = fieldProblems(validateSync(dto, VALIDATOR_OPTIONS));
    expect(problems).toContainEqual({ field: 'body', message: expect.stringContaining('not in the API') });
    expect(problems).toContainEqual({ field: 'target', message: expect.stringContaining('not in the API') });
    expect(JSON.stringify(problems)).not.toMatch(/sk_live_abcdef|hunter2/);
  });
});
