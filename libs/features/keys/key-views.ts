import { ClientKeyEntity } from './client-key.entity';
import { KeyRotationEntity } from './key-rotation.entity';

/** A key as the API shows it: public members only. */
export interface KeyView {
  id: string;
  kid: string;
  alg: string;
  origin: string;
  state: string;
  publicJwk: Record<string, string>;
  createdAt: string;
  activatedAt: string | null;
  retiringAt: string | null;
  retiredAt: string | null;
}

export function toKeyView(k: ClientKeyEntity): KeyView {
  return {
    id: k.id,
    kid: k.kid,
    alg: k.alg,
    origin: k.origin,
    state: k.state,
    publicJwk: k.publicJwk,
    createdAt: k.createdAt.toISOString(),
    activatedAt: k.activatedAt?.toISOString() ?? null,
    retiringAt: k.retiringAt?.toISOString() ?? null,
    retiredAt: k.retiredAt?.toISOString() ?? null,
  };
}

export interface RotationView {
  id: string;
  trigger: string;
  step: string;
  status: string;
  newKeyId: string | null;
  oldKeyId: string | null;
  overlapSeconds: number;
  nextStepAt: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export function toRotationView(r: KeyRotationEntity): RotationView {
  return {
    id: r.id,
    trigger: r.trigger,
    step: r.step,
    status: r.status,
    newKeyId: r.newKeyId,
    oldKeyId: r.oldKeyId,
    overlapSeconds: r.overlapSeconds,
    nextStepAt: r.nextStepAt?.toISOString() ?? null,
    attempts: r.attempts,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}
