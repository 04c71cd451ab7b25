import { Phase } from './phases';

/** A probe a phase's gate reads: with the shared secret, or with the client's key (optionally DPoP). */
export interface NeededProbe {
  credential: 'secret' | 'key';
  dpop: boolean;
}

/** Which probes keep each phase's evidence fresh (the scheduled sweep re-runs them). */
export function probesNeeded(phase: Phase, senderConstraint: 'dpop' | 'none'): NeededProbe[] {
  const secret: NeededProbe = { credential: 'secret', dpop: false };
  const key: NeededProbe = { credential: 'key', dpop: false };
  switch (phase) {
    case Phase.VendorCheck:
      return []; // evidence is the server's metadata, not a token request
    case Phase.KeyRegistration:
    case Phase.Cutover:
      return [key];
    case Phase.ParallelAuth:
      return [secret, key];
    case Phase.SecretRevocation:
      return [secret]; // must come back rejected
    case Phase.SenderConstraint:
      return senderConstraint === 'dpop' ? [{ credential: 'key', dpop: true }, key] : [key];
    case Phase.Completed:
      return [key];
  }
}
