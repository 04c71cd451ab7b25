import { assertUnreachable } from './assert-unreachable';
import { Evidence, EvidenceKind } from './evidence';
import { Phase } from './phases';

/** Tunables a gate needs that are policy, not evidence. */
export interface GatePolicy {
  soak: { minSuccesses: number; minSeconds: number };
}

export interface GateContext {
  senderConstraint: 'dpop' | 'none';
  cutoverConfirmedAt: Date | null;
}

export type GateVerdict =
  | { verdict: 'satisfied' }
  | { verdict: 'wait'; reason: string; recheckAt: Date | null }
  | { verdict: 'block'; reason: string }
  | { verdict: 'fail'; reason: string };

/** What each phase requires before it may advance: shown to operators and in audit reports. */
export const GATE_DESCRIPTIONS: Record<Phase, string> = {
  [Phase.VendorCheck]:
    'The authorization server advertises the target auth method and a signing algorithm Keyshift can use.',
  [Phase.KeyRegistration]:
    'A private_key_jwt token request signed with the new key succeeds at the authorization server.',
  [Phase.ParallelAuth]:
    'Both the old secret and the new key obtain tokens, repeatedly, over the configured soak window.',
  [Phase.Cutover]: 'An operator confirmed the cutover, and a key probe after the confirmation succeeds.',
  [Phase.SecretRevocation]:
    'A token request with the old secret is rejected by the authorization server (invalid_client).',
  [Phase.SenderConstraint]:
    'A DPoP token request yields token_type DPoP and a request without a proof is refused (or no sender constraint was requested).',
  [Phase.Completed]: 'Terminal: the client stays under scheduled key rotation.',
};

/** Which evidence each phase's gate reads; any other kind is a wiring error and is refused. */
export const GATE_EVIDENCE: Record<Phase, EvidenceKind | null> = {
  [Phase.VendorCheck]: 'vendor_support',
  [Phase.KeyRegistration]: 'key_probe',
  [Phase.ParallelAuth]: 'parallel_soak',
  [Phase.Cutover]: 'key_probe',
  [Phase.SecretRevocation]: 'secret_probe_after_revocation',
  [Phase.SenderConstraint]: 'dpop_probe',
  [Phase.Completed]: null,
};

/** Judges evidence against a phase's gate. Pure; `now` comes from the caller's clock. */
export function judge(phase: Phase, evidence: Evidence, ctx: GateContext, policy: GatePolicy, now: Date): GateVerdict {
  switch (evidence.kind) {
    case 'vendor_support':
      return evidence.supported
        ? { verdict: 'satisfied' }
        : { verdict: 'block', reason: `authorization server does not support: ${evidence.missing.join(', ')}` };
    case 'key_probe':
      if (phase === Phase.Cutover && ctx.cutoverConfirmedAt === null) {
        return { verdict: 'wait', reason: 'awaiting operator confirmation of the cutover', recheckAt: null };
      }
      if (evidence.ok) return { verdict: 'satisfied' };
      // After a cutover the workload already signs with the key: a failing key probe is an incident.
      return phase === Phase.Cutover
        ? { verdict: 'fail', reason: `key probe failed after cutover: ${evidence.detail ?? 'rejected'}` }
        : { verdict: 'wait', reason: `key probe not yet accepted: ${evidence.detail ?? 'rejected'}`, recheckAt: null };
    case 'parallel_soak': {
      if (evidence.rejection) return { verdict: 'block', reason: `overlap broken: ${evidence.rejection}` };
      const { minSuccesses, minSeconds } = policy.soak;
      const soakEndsAt = new Date(evidence.windowOpenedAt.getTime() + minSeconds * 1000);
      const enough = evidence.secretSuccesses >= minSuccesses && evidence.keySuccesses >= minSuccesses;
      if (enough && now >= soakEndsAt) return { verdict: 'satisfied' };
      return {
        verdict: 'wait',
        reason: `soaking: secret ${evidence.secretSuccesses}/${minSuccesses}, key ${evidence.keySuccesses}/${minSuccesses}, window ends ${soakEndsAt.toISOString()}`,
        recheckAt: now >= soakEndsAt ? null : soakEndsAt,
      };
    }
    case 'secret_probe_after_revocation':
      return evidence.rejected
        ? { verdict: 'satisfied' }
        : {
            verdict: 'wait',
            reason: `old secret still accepted: ${evidence.detail ?? 'token issued'}`,
            recheckAt: null,
          };
    case 'dpop_probe':
      if (ctx.senderConstraint === 'none') return { verdict: 'satisfied' };
      if (evidence.boundTokenIssued && evidence.unboundRefused) return { verdict: 'satisfied' };
      return {
        verdict: 'wait',
        reason: !evidence.boundTokenIssued
          ? 'DPoP request did not yield a DPoP-bound token'
          : 'a token request without a DPoP proof was still accepted',
        recheckAt: null,
      };
    default:
      return assertUnreachable(evidence);
  }
}
