import type { EstateFailure, EstateSummary } from '@keyshift/features/reports/estate-summary';

/**
 * A realistic estate a quarter into its migration: about 10,000 clients across the phases, 90 days
 * of secrets going down in waves (flat at weekends), 43 failures and blockers of which the report
 * lists the oldest 30, and control findings whose figures agree with the totals.
 */

const GENERATED_AT = '2025-06-02T06:00:00.000Z';
const DAY_MS = 86_400_000;

const PHASE_STATES: [string, Record<string, number>][] = [
  ['vendor_check', { pending: 402, running: 28, waiting: 731, done: 57, blocked: 14, failed: 3 }],
  ['key_registration', { pending: 512, running: 61, waiting: 1104, done: 171, blocked: 6, failed: 4 }],
  ['parallel_auth', { pending: 208, running: 44, waiting: 1903, done: 140, blocked: 3, failed: 5 }],
  ['cutover', { pending: 96, running: 17, waiting: 1204, done: 88, blocked: 2, failed: 3 }],
  ['secret_revocation', { pending: 71, running: 9, waiting: 402, done: 491, blocked: 1, failed: 1 }],
  ['sender_constraint', { pending: 55, running: 8, waiting: 510, done: 182, blocked: 0, failed: 1 }],
  ['completed', { done: 1727 }],
];

const PHASES: EstateSummary['phases'] = PHASE_STATES.map(([phase, byState]) => ({
  phase,
  byState,
  count: Object.values(byState).reduce((a, b) => a + b, 0),
}));

function inPhases(phases: string[], state?: string): number {
  return PHASES.filter((p) => phases.includes(p.phase)).reduce(
    (sum, p) => sum + (state ? (p.byState[state] ?? 0) : p.count),
    0,
  );
}

function totals(): EstateSummary['totals'] {
  const all = PHASES.map((p) => p.phase);
  const clients = inPhases(all);
  const revoking = inPhases(['secret_revocation']) - inPhases(['secret_revocation'], 'done');
  const onSharedSecret = inPhases(['vendor_check', 'key_registration', 'parallel_auth', 'cutover']) + revoking;
  return {
    clients,
    onSharedSecret,
    secretsRevoked: clients - onSharedSecret,
    keyAuthenticated: inPhases(['cutover'], 'done') + inPhases(['secret_revocation', 'sender_constraint', 'completed']),
    senderConstrained: inPhases(['sender_constraint'], 'done') + inPhases(['completed']),
    completed: inPhases(['completed']),
    failed: inPhases(all, 'failed'),
    blocked: inPhases(all, 'blocked'),
    keysPastRotation: 274,
  };
}

/** Revocations on weekdays from day 18, in bursts of ten days out of every 25; ends at `last`. */
function secretsRemaining(first: number, last: number): EstateSummary['secretsRemaining'] {
  const end = Date.parse(GENERATED_AT.slice(0, 10)) - DAY_MS;
  const days = Array.from({ length: 90 }, (_, i) => new Date(end - (89 - i) * DAY_MS));
  const weights = days.map((d, i): number => (i < 18 || d.getUTCDay() % 6 === 0 ? 0 : i % 25 < 10 ? 3 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let done = 0;
  return days.map((d, i) => {
    done += weights[i];
    return { date: d.toISOString().slice(0, 10), remaining: first - Math.round(((first - last) * done) / total) };
  });
}

const FAILURES: [string, string, EstateFailure['state'], string | null][] = [
  [
    'legacy-batch-settlement',
    'vendor_check',
    'blocked',
    'Vendor does not support private_key_jwt for this client type; a manual change at the server is needed.',
  ],
  ['crm-sync-eu-west-1', 'vendor_check', 'blocked', 'Owner has not confirmed the migration window (asked 2025-04-08).'],
  [
    'payroll-export',
    'key_registration',
    'failed',
    'RFC 7592 registration update refused: 403 insufficient_scope (registration access token lacks client:write).',
  ],
  [
    'mobile-bff-ios',
    'vendor_check',
    'blocked',
    'Server metadata lists no token_endpoint_auth_signing_alg_values_supported; confirm PS256 or ES256 with the vendor.',
  ],
  [
    'ledger-reconciler-03',
    'parallel_auth',
    'failed',
    'Key token request rejected: invalid_client (assertion aud must be the issuer identifier, the server expects the token endpoint URL).',
  ],
  [
    'reporting-warehouse',
    'key_registration',
    'failed',
    'jwks_uri https://keys.reporting.example.com/jwks.json returned 404 three times.',
  ],
  [
    'partner-api-gateway',
    'vendor_check',
    'blocked',
    'Registration is managed by the partner; manual change requested in ticket SEC-2291.',
  ],
  [
    'kyc-document-service',
    'parallel_auth',
    'failed',
    'Probe timed out after 10 s (3 attempts): token endpoint unreachable from the worker network.',
  ],
  [
    'fraud-scoring-prod',
    'cutover',
    'blocked',
    'Cutover needs operator confirmation: client has live traffic from 4 regions.',
  ],
  ['notification-hub', 'key_registration', 'blocked', null],
  [
    'treasury-fx-feed',
    'parallel_auth',
    'failed',
    'Key token request rejected: invalid_client (iat 94 s in the future; clock skew at the server).',
  ],
  [
    'hr-onboarding-portal',
    'vendor_check',
    'blocked',
    'Vendor support unknown for this authorization server version (11.2); check the support matrix.',
  ],
  [
    'card-issuing-core',
    'cutover',
    'failed',
    'Secret still accepted after cutover at the server: switched back to the secret, evidence kept.',
  ],
  [
    'loyalty-points-engine',
    'vendor_check',
    'blocked',
    'Owner team disbanded; no owner on record to confirm the migration.',
  ],
  [
    'statements-renderer',
    'key_registration',
    'failed',
    'Connector error: 409 conflict on PUT /register/{id} (registration changed outside Keyshift).',
  ],
  [
    'open-banking-aisp',
    'parallel_auth',
    'blocked',
    'DPoP nonce required by the server (use_dpop_nonce) but not yet enabled for this client.',
  ],
  [
    'dwh-ingest-nightly',
    'vendor_check',
    'blocked',
    'Client authenticates with client_secret_jwt; shared-key JWTs need the owner to confirm the target method.',
  ],
  [
    'sanctions-screening',
    'secret_revocation',
    'blocked',
    'Revocation refused: no successful key token request at cutover on record.',
  ],
  [
    'marketing-cdp-export',
    'key_registration',
    'blocked',
    'Key registration waits for a change freeze to end (2025-06-09).',
  ],
  [
    'atm-monitoring',
    'parallel_auth',
    'failed',
    'Key token request rejected: unsupported alg EdDSA; the server accepts RS256 and PS256 only.',
  ],
  [
    'billing-invoicing-v2',
    'vendor_check',
    'blocked',
    'Two registrations share this client_id at the server; resolve the duplicate first.',
  ],
  [
    'claims-intake-api',
    'cutover',
    'failed',
    'Token endpoint returned 500 after switching token_endpoint_auth_method; retries exhausted.',
  ],
  [
    'customer-360-sync',
    'vendor_check',
    'blocked',
    'Owner asked to postpone until Q3 (risk accepted by the platform team).',
  ],
  [
    'pricing-engine',
    'parallel_auth',
    'failed',
    'Token endpoint returned 400 invalid_client: "The client assertion could not be verified: no key in the registered JWKS matches kid ks-2025-04-7f3a (kids found: ks-2025-03-1a2b). Check that the jwks_uri serves the current key and that the server\'s JWKS cache has been refreshed since the rotation."',
  ],
  [
    'email-gateway',
    'key_registration',
    'failed',
    'Connector error: registration_access_token expired; a new one is needed from the server admin.',
  ],
  [
    'data-lake-reader',
    'vendor_check',
    'blocked',
    'Authorization server unreachable from the worker network (TLS handshake timeout).',
  ],
  [
    'collections-dialler',
    'sender_constraint',
    'failed',
    'DPoP-bound token rejected by the resource server: the resource server does not validate DPoP proofs.',
  ],
  [
    'investor-portal',
    'vendor_check',
    'blocked',
    'Client is due to be decommissioned; owner prefers deletion to migration.',
  ],
  [
    'risk-limits-service',
    'parallel_auth',
    'blocked',
    'Owner confirmation needed: client runs on a host without outbound access to the jwks_uri.',
  ],
  [
    'audit-log-shipper',
    'key_registration',
    'failed',
    'Key registration refused: server accepts jwks by value only (jwks_uri not allowed).',
  ],
];

function failures(): EstateFailure[] {
  const first = Date.parse('2025-04-10T08:15:00.000Z');
  return FAILURES.map(([clientId, phase, state, reason], i) => ({
    id: `0196f1e2-4c5a-7d10-8a3b-${String(i + 1).padStart(12, '0')}`,
    clientId,
    phase,
    state,
    reason,
    since: new Date(first + i * 1.7 * DAY_MS).toISOString(),
  }));
}

function controls(t: EstateSummary['totals'], oldSecrets: number): EstateSummary['controls'] {
  const n = (v: number) => v.toLocaleString('en-US');
  const pct = (v: number) => `${((100 * v) / t.clients).toFixed(1)}%`;
  return [
    {
      framework: 'RFC 9700',
      reference: '§2.5',
      topic: 'Client authentication',
      observation: `${n(t.keyAuthenticated)} of ${n(t.clients)} clients (${pct(t.keyAuthenticated)}) authenticate with private_key_jwt; ${n(t.onSharedSecret)} still hold a shared secret.`,
      evidence: 'Totals and phase funnel (page 1); evidence pack per client: GET /v1/clients/{id}/evidence.',
    },
    {
      framework: 'FAPI 2.0',
      reference: '§5.3.2.1',
      topic: 'Client authentication by private_key_jwt or mTLS',
      observation: `${n(t.clients - t.keyAuthenticated)} clients still authenticate at the server with a shared secret (client_secret_basic or client_secret_post), which FAPI 2.0 does not allow.`,
      evidence: 'Phase funnel (page 1); token-endpoint probes in each evidence pack.',
    },
    {
      framework: 'FAPI 2.0',
      reference: '§5.3.2.1',
      topic: 'Sender-constrained access tokens',
      observation: `${n(t.senderConstrained)} clients (${pct(t.senderConstrained)}) receive DPoP-bound tokens; the rest receive bearer tokens.`,
      evidence: 'Totals (page 1); DPoP probes in each evidence pack.',
    },
    {
      framework: 'PCI DSS 4.0',
      reference: '8.6.3',
      topic: 'Passwords for application and system accounts protected against misuse',
      observation: `${n(t.onSharedSecret)} shared secrets remain, ${n(oldSecrets)} of them known to Keyshift for over 365 days without a change; ${n(t.secretsRevoked)} revoked at the server and shredded.`,
      evidence: 'Secret age (page 2); client.secret_shredded audit events.',
    },
    {
      framework: 'SOC 2',
      reference: 'CC6.1',
      topic: 'Logical access security',
      observation: `Every phase change is an audit event in a hash-chained log; ${n(t.keysPastRotation)} active keys are older than their rotation period.`,
      evidence: 'Key age (page 2); audit log export: GET /v1/audit/events.',
    },
  ];
}

export function anEstateSummary(overrides: Partial<EstateSummary> = {}): EstateSummary {
  const t = totals();
  const secretAges = [
    { label: 'under 30 days', fromDays: 0, count: 412 },
    { label: '30-90 days', fromDays: 30, count: 1208 },
    { label: '90-180 days', fromDays: 90, count: 2044 },
    { label: '180-365 days', fromDays: 180, count: 2311 },
    { label: 'over 365 days', fromDays: 365, count: t.onSharedSecret - 412 - 1208 - 2044 - 2311 },
  ];
  return {
    generatedAt: GENERATED_AT,
    filter: {},
    totals: t,
    phases: PHASES.map((p) => ({ ...p, byState: { ...p.byState } })),
    secretAges,
    secretsRemaining: secretsRemaining(t.clients, t.onSharedSecret),
    keyAges: [
      { label: '0-30 days', fromDays: 0, count: 3114 },
      { label: '30-60 days', fromDays: 30, count: 2482 },
      { label: '60-90 days', fromDays: 60, count: 1905 },
      { label: '90-180 days', fromDays: 90, count: 1254 },
      { label: '180-365 days', fromDays: 180, count: 237 },
      { label: 'over 365 days', fromDays: 365, count: 37 },
    ],
    failures: failures(),
    failuresTotal: t.failed + t.blocked,
    auditVerification: {
      at: '2025-06-02T03:00:00.000Z',
      trigger: 'schedule',
      ok: true,
      eventsChecked: 1_204_311,
      tipSeq: '1204311',
      firstBreak: null,
      sealed: true,
    },
    controls: controls(t, secretAges[secretAges.length - 1].count),
    ...overrides,
  };
}

export function anEmptyEstateSummary(overrides: Partial<EstateSummary> = {}): EstateSummary {
  return {
    generatedAt: GENERATED_AT,
    filter: {},
    totals: {
      clients: 0,
      onSharedSecret: 0,
      secretsRevoked: 0,
      keyAuthenticated: 0,
      senderConstrained: 0,
      completed: 0,
      failed: 0,
      blocked: 0,
      keysPastRotation: 0,
    },
    phases: [],
    secretAges: [],
    secretsRemaining: [],
    keyAges: [],
    failures: [],
    failuresTotal: 0,
    auditVerification: null,
    controls: [],
    ...overrides,
  };
}
