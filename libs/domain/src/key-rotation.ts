import { retriesExhausted } from './retry-and-confirmation';

/**
 * A key rotation as data: which step follows which, what each step does to the keys, when the
 * next one may run, and what a failure or a person's resume does. Pure: KeyRotationSteps (libs/
 * features/keys) performs the effects, persists the result under the row's version and schedules
 * the next step; the property tests (test/unit/domain/key-rotation.spec.ts) hold the machine to its
 * invariants (the old key is never retired before the new one is published and active, …).
 *
 *   create -> publish -> (overlap) -> test -> promote -> (overlap) -> retire -> done
 *
 * Promote goes straight to done when there is no old key. A rotation adopting a registered
 * bring-your-own key starts at publish: the key already exists as pending.
 */

/** The steps, in order. The string values are the `key_rotations.step` column's. */
export const KEY_ROTATION_STEPS = ['create', 'publish', 'test', 'promote', 'retire', 'done'] as const;
export type KeyRotationStepName = (typeof KEY_ROTATION_STEPS)[number];

/** `key_rotations.status`: running (due now), waiting (for an overlap), failed, done. */
export type KeyRotationStatusName = 'running' | 'waiting' | 'failed' | 'done';

/** When the next step may run, relative to the end of this one. */
export type StepWait = 'now' | 'overlap' | 'never';

export interface StepOutcome {
  step: KeyRotationStepName;
  status: KeyRotationStatusName;
  wait: StepWait;
}

/** What a step changes on the keys (written in the same transaction as the rotation row). */
export type KeyEffect =
  | { key: 'new'; to: 'pending' }
  | { key: 'new'; to: 'active' }
  | { key: 'old'; to: 'retiring' }
  | { key: 'old'; to: 'retired' };

/** The first step of a rotation: create, or publish when it adopts an existing pending key. */
export function firstRotationStep(adoptsExistingKey: boolean): KeyRotationStepName {
  return adoptsExistingKey ? 'publish' : 'create';
}

/** Where a rotation goes once `step` has succeeded. */
export function afterRotationStep(step: KeyRotationStepName, rotation: { hasOldKey: boolean }): StepOutcome {
  switch (step) {
    case 'create':
      return { step: 'publish', status: 'running', wait: 'now' };
    case 'publish':
      // Servers must have fetched the new JWKS before anything signs with the new key.
      return { step: 'test', status: 'waiting', wait: 'overlap' };
    case 'test':
      return { step: 'promote', status: 'running', wait: 'now' };
    case 'promote':
      // Assertions signed with the old key must have expired before it leaves the JWKS.
      return rotation.hasOldKey
        ? { step: 'retire', status: 'waiting', wait: 'overlap' }
        : { step: 'done', status: 'done', wait: 'never' };
    case 'retire':
    case 'done':
      return { step: 'done', status: 'done', wait: 'never' };
  }
}

/** The key changes of `step` (the old key's only when there is one). */
export function rotationStepEffects(step: KeyRotationStepName, rotation: { hasOldKey: boolean }): KeyEffect[] {
  switch (step) {
    case 'create':
      return [{ key: 'new', to: 'pending' }];
    case 'promote':
      // The old key leaves `active` first: one active key per client.
      return [...(rotation.hasOldKey ? [{ key: 'old', to: 'retiring' } as const] : []), { key: 'new', to: 'active' }];
    case 'retire':
      return rotation.hasOldKey ? [{ key: 'old', to: 'retired' }] : [];
    case 'publish':
    case 'test':
    case 'done':
      return [];
  }
}

export const MAX_ROTATION_BACKOFF_MS = 10 * 60_000;

/**
 * A failed attempt at the current step (which stays the current step): retried after an
 * exponential backoff while attempts remain, then left for a person (`retryInMs` null).
 */
export function afterRotationFailure(
  attempts: number,
  maxAttempts: number,
): { status: 'failed'; attempts: number; retryInMs: number | null } {
  const next = attempts + 1;
  return {
    status: 'failed',
    attempts: next,
    retryInMs: retriesExhausted(next, maxAttempts) ? null : Math.min(MAX_ROTATION_BACKOFF_MS, 2_000 * 2 ** (next - 1)),
  };
}

/** Only a failed rotation is resumed (at the step it failed, attempts reset); one in progress is left alone. */
export function canResumeRotation(status: KeyRotationStatusName): boolean {
  return status === 'failed';
}

/** The most steps a rotation runs successfully, from create to done. */
export const MAX_ROTATION_STEPS = KEY_ROTATION_STEPS.length - 1;
