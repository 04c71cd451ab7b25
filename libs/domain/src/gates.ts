import { assertUnreachable } from './assert-unreachable';
import { Evidence, EvidenceKind } from './evidence';
import { Phase } from './phases';
import { awaitsCutoverConfirmation, retriesExhausted } from './retry-and-confirmation';

/** Tunables a gate needs that are policy, not evidence. */
export interface GatePolicy {
  /** Both credentials succeed at least `minSuccesses` times over `minSeconds`, probed every `intervalSeconds`. */
  soak: { minSuccesses: number; minSeconds: number; intervalSeconds: number };
  /** When negative evidence is looked at again (the server may still be catching up). */
  recheckSeconds: number;
  /** Rounds of negative evidence (or transient faults) before the phase is failed for a person. */
  maxAttempts: number;
}

export interface GateContext {
  senderConstraint: 'dpop' | 'none';
  /** `automatic`: Keyshift switches the method itself; `confirm`: an operator confirms the workload moved. */
  cutover: 'confirm' | 'automatic';
  cutoverConfirmedAt: Date | null;
  /** Rounds of this phase's work so far (the current one included). */
  attempts: number;
}

/**
 * `wait` says what moves the client on: `retry` (negative evidence, looked at again and failed
 * after too many rounds), `timer` (a soak in progress: progress, not failure) or `person`.
 */
export type GateVerdict =
  | { verdict: 'satisfied' }
  | { verdict: 'wait'; reason: string; recheckAt: Date | null; until: 'retry' | 'timer' | 'person' }
  | { verdict: 'block'; reason: string }
  | { verdict: 'fail'; reason: string };

/** What each phase requires before it may advance: shown to operators and in audit reports. */
export const GATE_DESCRIPTIONS: Record<Phase, string> = {
  [Phase.VendorCheck]:
    'The authorization server advertises the target auth method and a signing algorithm Keyshift can use.',
  [Phase.KeyRegistration]:
    'A private_key_jwt token request signed with the new key succeeds at the authorization server; where the server holds one method per client (in place, atomic), its registration names the key and an assertion signed with it verifies against the JWKS the server reads, and the token request comes at cutover.',
  [Phase.ParallelAuth]:
    'Both the old secret and the new key obtain tokens, repeatedly, over the configured soak window.',
  [Phase.Cutover]:
    'An operator confirmed the cutover (or the client allows Keyshift to switch it), and a private_key_jwt token request after the switch succeeds.',
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
  const retry = (reason: string): GateVerdict =>
    retriesExhausted(ctx.attempts, policy.maxAttempts)
      ? { verdict: 'fail', reason: `${reason} (gave up after ${ctx.attempts} attempts)` }
      : { verdict: 'wait', reason, recheckAt: after(now, policy.recheckSeconds), until: 'retry' };
  switch (evidence.kind) {
    case 'vendor_support':
      return evidence.supported
        ? { verdict: 'satisfied' }
        : { verdict: 'block', reason: `authorization server does not support: ${evidence.missing.join(', ')}` };
    case 'key_probe':
      if (phase === Phase.Cutover && awaitsCutoverConfirmation(ctx)) {
        return {
          verdict: 'wait',
          reason: 'awaiting operator confirmation of the cutover (POST /v1/clients/{id}/cutover/confirm)',
          recheckAt: null,
          until: 'person',
        };
      }
      if (phase === Phase.Cutover && evidence.via !== 'token_request') {
        return { verdict: 'fail', reason: 'cutover needs a private_key_jwt token request, not a JWKS check' };
      }
      if (evidence.ok) return { verdict: 'satisfied' };
      // After a cutover the workload already signs with the key: a failing key probe is an incident.
      return phase === Phase.Cutover
        ? { verdict: 'fail', reason: `key probe failed after cutover: ${evidence.detail ?? 'rejected'}` }
        : retry(`key not yet accepted: ${evidence.detail ?? 'rejected'}`);
    case 'parallel_soak': {
      if (evidence.rejection) return { verdict: 'block', reason: `overlap broken: ${evidence.rejection}` };
      const { minSuccesses, minSeconds, intervalSeconds } = policy.soak;
      const soakEndsAt = after(evidence.windowOpenedAt, minSeconds);
      const enough = evidence.secretSuccesses >= minSuccesses && evidence.keySuccesses >= minSuccesses;
      if (enough && now >= soakEndsAt) return { verdict: 'satisfied' };
      const nextRound = after(now, intervalSeconds);
      return {
        verdict: 'wait',
        reason:
          `soaking: secret ${evidence.secretSuccesses}/${minSuccesses}, key ${evidence.keySuccesses}/${minSuccesses}, ` +
          `window ends ${soakEndsAt.toISOString()}${evidence.note ? `; ${evidence.note}` : ''}`,
        // Stryker disable next-line EqualityOperator: equivalent; when the two are equal either branch gives the same instant
        recheckAt: enough && soakEndsAt < nextRound ? soakEndsAt : nextRound,
        until: 'timer',
      };
    }
    case 'secret_probe_after_revocation':
      return evidence.rejected
        ? { verdict: 'satisfied' }
        : retry(`old secret still accepted: ${evidence.detail ?? 'token issued'}`);
    case 'dpop_probe':
      if (ctx.senderConstraint === 'none') return { verdict: 'satisfied' };
      if (evidence.boundTokenIssued && evidence.unboundRefused) return { verdict: 'satisfied' };
      return retry(
        !evidence.boundTokenIssued
          ? `DPoP request did not yield a DPoP-bound token${evidence.detail ? `: ${evidence.detail}` : ''}`
          : 'a token request without a DPoP proof was still accepted',
      );
    default:
      return assertUnreachable(evidence);
  }
}

function after(from: Date, seconds: number): Date {
  return new Date(from.getTime() + seconds * 1000);
}
