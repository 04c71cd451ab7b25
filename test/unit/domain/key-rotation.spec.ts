import fc from 'fast-check';
import {
  afterRotationFailure,
  afterRotationStep,
  canResumeRotation,
  firstRotationStep,
  KEY_ROTATION_STEPS,
  KeyRotationStatusName,
  KeyRotationStepName,
  MAX_ROTATION_BACKOFF_MS,
  MAX_ROTATION_STEPS,
  rotationStepEffects,
} from '@keyshift/domain';
import { ROTATION_STEPS } from '@keyshift/features/keys/key-rotation.entity';

type KeyState = 'absent' | 'pending' | 'active' | 'retiring' | 'retired';

interface World {
  step: KeyRotationStepName;
  status: KeyRotationStatusName;
  attempts: number;
  /** Failed with no attempts left: nothing runs it until a person resumes it. */
  waitsForAPerson: boolean;
  hasOldKey: boolean;
  newKey: KeyState;
  oldKey: KeyState;
  /** Steps that ran to success, and whether the new key had been published (announced) yet. */
  succeeded: KeyRotationStepName[];
  published: boolean;
}

/** What a step run does to the world: success (effects + next state) or a failure (attempt counted). */
type Attempt = 'ok' | 'fail' | 'resume';

const MAX_ATTEMPTS = 5;

function start(hasOldKey: boolean, adopts: boolean): World {
  return {
    step: firstRotationStep(adopts),
    status: 'running',
    attempts: 0,
    waitsForAPerson: false,
    hasOldKey,
    newKey: adopts ? 'pending' : 'absent',
    oldKey: hasOldKey ? 'active' : 'absent',
    succeeded: [],
    published: false,
  };
}

/** Runs one attempt, as KeyRotationSteps does (a failed rotation waiting for a person only resumes). */
function attempt(w: World, what: Attempt): World {
  if (w.status === 'done') return w;
  if (what === 'resume')
    return canResumeRotation(w.status) ? { ...w, status: 'running', attempts: 0, waitsForAPerson: false } : w;
  if (w.waitsForAPerson) return w;
  if (what === 'fail') {
    const failed = afterRotationFailure(w.attempts, MAX_ATTEMPTS);
    return { ...w, status: failed.status, attempts: failed.attempts, waitsForAPerson: failed.retryInMs === null };
  }
  const rotation = { hasOldKey: w.hasOldKey };
  let { newKey, oldKey } = w;
  for (const e of rotationStepEffects(w.step, rotation)) {
    if (e.key === 'new') newKey = e.to;
    else oldKey = e.to;
  }
  const next = afterRotationStep(w.step, rotation);
  return {
    ...w,
    newKey,
    oldKey,
    step: next.step,
    status: next.status,
    attempts: 0,
    succeeded: [...w.succeeded, w.step],
    published: w.published || w.step === 'publish',
  };
}

const attempts = fc.array(fc.constantFrom<Attempt>('ok', 'fail', 'resume'), { maxLength: 60 });
const rotations = fc.record({ hasOldKey: fc.boolean(), adopts: fc.boolean() });

/** Runs the attempts, then resumes and succeeds until done; returns every world passed through. */
function run(w0: World, script: Attempt[]): World[] {
  const worlds = [w0];
  let w = w0;
  for (const a of script) worlds.push((w = attempt(w, a)));
  for (let i = 0; w.status !== 'done' && i < 100; i++) worlds.push((w = attempt(attempt(w, 'resume'), 'ok')));
  return worlds;
}

describe('the key rotation machine (libs/domain key-rotation.ts)', () => {
  it('walks create -> publish -> test -> promote -> retire -> done when all goes well', () => {
    const steps = run(start(true, false), []).map((w) => w.step);
    expect([...new Set(steps)]).toEqual([...KEY_ROTATION_STEPS]);
  });

  it('never retires (or starts retiring) the old key before the new one is published and active', () => {
    fc.assert(
      fc.property(rotations, attempts, ({ hasOldKey, adopts }, script) => {
        for (const w of run(start(hasOldKey, adopts), script)) {
          if (w.oldKey === 'retiring' || w.oldKey === 'retired') {
            expect(w.published).toBe(true);
            expect(w.succeeded).toContain('test');
            expect(w.newKey).toBe('active');
          }
          if (w.newKey === 'active') expect(w.published && w.succeeded.includes('test')).toBe(true);
          // One active key at a time.
          expect(w.newKey === 'active' && w.oldKey === 'active').toBe(false);
        }
      }),
    );
  });

  it('reaches the same final state from any interleaving of failures and resumes', () => {
    fc.assert(
      fc.property(rotations, attempts, ({ hasOldKey, adopts }, script) => {
        const clean = run(start(hasOldKey, adopts), []).at(-1)!;
        const final = run(start(hasOldKey, adopts), script).at(-1)!;
        expect(final).toEqual(clean);
        expect(final).toMatchObject({
          step: 'done',
          status: 'done',
          newKey: 'active',
          oldKey: hasOldKey ? 'retired' : 'absent',
        });
      }),
    );
  });

  it('resumed from any step it can be at, finishes in a bounded number of successful steps', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEY_ROTATION_STEPS), fc.boolean(), (step, hasOldKey) => {
        let w: World = { ...start(hasOldKey, false), step };
        let n = 0;
        while (w.status !== 'done') {
          w = attempt(w, 'ok');
          n++;
          expect(n).toBeLessThanOrEqual(MAX_ROTATION_STEPS);
        }
        expect(w.step).toBe('done');
      }),
    );
    const full = run(start(true, false), []).length - 1;
    expect(full).toBe(MAX_ROTATION_STEPS);
  });

  it('each successful step advances: no step leads back to itself or an earlier one', () => {
    for (const step of KEY_ROTATION_STEPS.slice(0, -1))
      for (const hasOldKey of [true, false]) {
        const next = afterRotationStep(step, { hasOldKey }).step;
        expect(KEY_ROTATION_STEPS.indexOf(next)).toBeGreaterThan(KEY_ROTATION_STEPS.indexOf(step));
      }
  });

  it('waits an overlap after publishing and after promoting over an old key, nowhere else', () => {
    const waits = KEY_ROTATION_STEPS.filter((s) => afterRotationStep(s, { hasOldKey: true }).wait === 'overlap');
    expect(waits).toEqual(['publish', 'promote']);
    expect(afterRotationStep('promote', { hasOldKey: false })).toEqual({ step: 'done', status: 'done', wait: 'never' });
  });

  it('backs off exponentially up to a cap, then leaves the rotation for a person', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 40 }), (attemptsSoFar, max) => {
        const { attempts: n, retryInMs } = afterRotationFailure(attemptsSoFar, max);
        expect(n).toBe(attemptsSoFar + 1);
        if (n >= max) expect(retryInMs).toBeNull();
        else {
          expect(retryInMs).toBeGreaterThan(0);
          expect(retryInMs).toBeLessThanOrEqual(MAX_ROTATION_BACKOFF_MS);
        }
      }),
    );
    expect([0, 1, 2].map((a) => afterRotationFailure(a, 10).retryInMs)).toEqual([2_000, 4_000, 8_000]);
  });

  it('resumes only a failed rotation', () => {
    expect((['running', 'waiting', 'failed', 'done'] as const).filter(canResumeRotation)).toEqual(['failed']);
  });

  it('the step names are the key_rotations.step column values', () => {
    expect([...ROTATION_STEPS]).toEqual([...KEY_ROTATION_STEPS]);
  });
});
