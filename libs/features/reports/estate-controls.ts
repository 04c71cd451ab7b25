import { ControlFinding, EstateSummary } from './estate-summary';

/** The inputs the control mapping states facts about. */
export type ControlInputs = Pick<EstateSummary, 'totals' | 'secretAges' | 'auditVerification'> & {
  /** The newest successful audit-chain verification, if any. */
  lastVerified: { seq: string; at: string } | null;
};

/** What the newest full verification of the audit chain found, as one sentence (also on the PDF). */
export function auditVerificationLine(outcome: EstateSummary['auditVerification']): string {
  if (!outcome)
    return 'The audit chain has had no full verification yet (GET /v1/audit/verify?mode=full; the worker runs one on a schedule).';
  if (!outcome.sealed) {
    return `The stored outcome of the last full verification (${outcome.at}) does not carry Keyshift's seal: it was written outside Keyshift and is not reported.`;
  }
  const how = outcome.trigger === 'schedule' ? 'scheduled' : 'requested';
  if (outcome.ok) {
    return `The last full verification of the audit chain (${how}, ${outcome.at}) found no break in ${outcome.eventsChecked} events, through event ${outcome.tipSeq}.`;
  }
  const b = outcome.firstBreak;
  return (
    `The last full verification of the audit chain (${how}, ${outcome.at}) found a break at event ${b?.seq} ` +
    `(${b?.problem}: ${b?.message}) after ${outcome.eventsChecked} events verified.`
  );
}

const pct = (n: number, of: number) => (of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`);

/**
 * What Keyshift's evidence shows for the controls reviewers ask about. Each finding states
 * recorded facts with their figures and where the records are; none claims compliance, which
 * is the assessor's judgement over much more than Keyshift sees.
 */
export function controlFindings({
  totals: t,
  secretAges,
  lastVerified,
  auditVerification,
}: ControlInputs): ControlFinding[] {
  const oldSecrets = secretAges.filter((b) => b.fromDays >= 90).reduce((n, b) => n + b.count, 0);
  const chain = lastVerified
    ? `The hash chain was last verified through event ${lastVerified.seq} at ${lastVerified.at}.`
    : 'The hash chain has not been verified yet (GET /v1/audit/verify).';
  return [
    {
      framework: 'RFC 9700',
      reference: '§2.5',
      topic: 'Client authentication with asymmetric keys',
      observation:
        `${t.keyAuthenticated} of ${t.clients} clients (${pct(t.keyAuthenticated, t.clients)}) authenticate with ` +
        `private_key_jwt, each shown by a successful key token request recorded at cutover; ` +
        `${t.onSharedSecret} (${pct(t.onSharedSecret, t.clients)}) still hold a shared secret.`,
      evidence: 'CSV/JSON columns auth_method_current and last_key_probe; per client: GET /v1/clients/{id}/evidence',
    },
    {
      framework: 'RFC 9700',
      reference: '§2.2.1',
      topic: 'Sender-constrained access tokens',
      observation:
        `${t.senderConstrained} of ${t.clients} clients (${pct(t.senderConstrained, t.clients)}) receive DPoP-bound ` +
        `tokens: a DPoP token request returned token_type DPoP and a request without a proof was refused.`,
      evidence: 'CSV/JSON columns sender_constrained and last_dpop_probe; evidence packs',
    },
    {
      framework: 'FAPI 2.0 Security Profile',
      reference: '§5.3.2.1',
      topic: 'Client authentication (private_key_jwt or MTLS) and sender-constrained tokens',
      observation:
        `${t.keyAuthenticated} of ${t.clients} clients authenticate with private_key_jwt and ${t.senderConstrained} ` +
        `receive DPoP-bound tokens, as Keyshift's probes show; ${t.clients - t.keyAuthenticated} do not yet ` +
        `authenticate with a key and ${t.clients - t.senderConstrained} are not yet sender-constrained.`,
      evidence: 'Phase funnel; CSV/JSON per client',
    },
    {
      framework: 'PCI DSS 4.0',
      reference: '8.6.3',
      topic: 'Passwords of application and system accounts protected against misuse',
      observation:
        `${t.secretsRevoked} shared secrets were revoked at the server (a token request with the old secret refused ` +
        `with invalid_client) and Keyshift's copy destroyed; ${t.onSharedSecret} remain, ${oldSecrets} of them ` +
        `90 days old or more. ${t.keysPastRotation} active keys are older than their rotation period.`,
      evidence:
        'Secret age and key age charts; CSV columns secret_status, secret_issued_at, secret_revoked_at, key_past_rotation',
    },
    {
      framework: 'PCI DSS 4.0',
      reference: '8.6.2',
      topic: 'Application account credentials not hard-coded',
      observation:
        `Keyshift does not inspect workloads' code or configuration. For the ${t.secretsRevoked} clients whose ` +
        `secret is revoked, any copy left in code or configuration no longer authenticates, as the recorded ` +
        `refused probe shows.`,
      evidence: 'CSV column secret_revocation_probe_id; GET /v1/clients/{id}/probes',
    },
    {
      framework: 'SOC 2',
      reference: 'CC6.1',
      topic: 'Logical access controls over credentials; record of changes',
      observation:
        `Every phase change of every client is an event in Keyshift's append-only, hash-chained audit log, with ` +
        `the actor and the probe that justified it. ${chain} ${auditVerificationLine(auditVerification)} ` +
        `${t.failed + t.blocked} clients are failed or ` +
        `blocked and wait for a person.`,
      evidence: 'GET /v1/audit/verify; GET /v1/audit/events; evidence packs (JWS, offline-verifiable)',
    },
  ];
}
