import { Phase, PhaseState, PHASE_ORDER } from '@keyshift/domain';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { CampaignsService } from '@keyshift/features/campaigns/campaigns.service';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { JwksChanges } from '@keyshift/features/keys/jwks-changes';
import { ProbeMethod, ProbeOutcome } from '@keyshift/features/probes/probe.entity';
import { ProbeRunner } from '@keyshift/features/probes/probe-runner.service';
import { clientReaches, MigrationRig, operator, startMigrationRig } from '../support/migration-rig';
import { waitFor } from '../support/wait-for';

/** A client_credentials request with the shared secret, straight to the AS (not through Keyshift). */
async function basicTokenRequest(rig: MigrationRig, clientId: string, secret: string) {
  const res = await fetch(`${rig.as.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function actions(rig: MigrationRig, id: string): Promise<{ action: string; after: Record<string, unknown> }[]> {
  const out: { action: string; after: Record<string, unknown> }[] = [];
  let cursor: string | undefined;
  do {
    const page = await rig.worker.get(AuditLog).list({ subjectId: id, limit: 200, cursor });
    out.push(...page.items.map((e) => ({ action: e.action, after: (e.after ?? {}) as Record<string, unknown> })));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** The phases a client's audit trail shows it entering, in order. */
async function phasesEntered(rig: MigrationRig, id: string): Promise<string[]> {
  const trail = await actions(rig, id);
  const phases = [Phase.VendorCheck as string];
  for (const e of trail) {
    const phase = e.after.phase as string | undefined;
    if (phase && phase !== phases[phases.length - 1]) phases.push(phase);
  }
  return phases;
}

describe('migration end to end against the real oidc-provider', () => {
  let rig: MigrationRig;

  beforeAll(async () => {
    rig = await startMigrationRig();
  }, 60_000);
  afterAll(() => rig.close());

  it('in place (atomic), automatic cutover, DPoP: a campaign takes the client through all six phases with evidence', async () => {
    const { id, reg } = await rig.client({
      tags: ['e2e-inplace'],
      target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place', cutover: 'automatic' },
    });
    expect((await basicTokenRequest(rig, reg.client_id, reg.client_secret)).status).toBe(200);
    const campaignId = await rig.campaign('e2e-inplace');

    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done).toMatchObject({ phase: Phase.Completed, secretStatus: 'shredded', secretCiphertext: null });
    expect(done.registrationState).toMatchObject({ authMethod: 'private_key_jwt', dpopBound: true });
    expect(await phasesEntered(rig, id)).toEqual(PHASE_ORDER);

    // At the server: the secret is dead, the key works, and only with a DPoP proof.
    const basic = await basicTokenRequest(rig, reg.client_id, reg.client_secret);
    expect(basic).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const runner = rig.worker.get(ProbeRunner);
    expect(
      await runner.run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: true, purpose: 'test' }),
    ).toMatchObject({ outcome: ProbeOutcome.Ok, tokenBound: true });
    expect(
      await runner.run({ clientRowId: id, method: ProbeMethod.PrivateKeyJwt, dpop: false, purpose: 'test' }),
    ).toMatchObject({ outcome: ProbeOutcome.Rejected });

    // The evidence trail: the key verified against the published JWKS before cutover (no overlap at an
    // atomic server), a key token request at cutover before revocation, the shredding audited.
    const trail = await actions(rig, id);
    const names = trail.map((e) => e.action);
    expect(names).toEqual(
      expect.arrayContaining(['client_key.created', 'client.registration_updated', 'client.secret_shredded']),
    );
    const probes = (await rig.ds.query(
      `SELECT purpose, method, via, outcome, error_code, dpop, token_bound FROM probes WHERE client_row_id = $1 AND purpose <> 'test' ORDER BY created_at`,
      [id],
    )) as Record<string, unknown>[];
    expect(probes).toEqual([
      expect.objectContaining({ purpose: 'key_registration', via: 'published_jwks', outcome: 'ok' }),
      expect.objectContaining({ purpose: 'parallel_auth', method: 'client_secret_basic', outcome: 'ok' }),
      expect.objectContaining({ purpose: 'parallel_auth', via: 'published_jwks', outcome: 'ok' }),
      expect.objectContaining({ purpose: 'cutover', method: 'private_key_jwt', via: 'token_request', outcome: 'ok' }),
      expect.objectContaining({ purpose: 'secret_revocation', outcome: 'rejected', error_code: 'invalid_client' }),
      expect.objectContaining({ purpose: 'sender_constraint', dpop: true, token_bound: true, outcome: 'ok' }),
      expect.objectContaining({ purpose: 'sender_constraint', dpop: false, outcome: 'rejected' }),
    ]);
    const view = await waitFor(
      () => rig.worker.get(CampaignsService).get(campaignId),
      (c) => c.status === 'completed',
    );
    expect(view).toMatchObject({ status: 'completed', progress: { byPhase: { completed: { done: 1 } } } });
    expect((await rig.worker.get(AuditLog).verify()).ok).toBe(true);
  });

  it('successor: registers a new private_key_jwt client, waits for the operator at cutover, then deletes the original', async () => {
    const { id, reg } = await rig.client({
      tags: ['e2e-successor'],
      target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'successor' },
    });
    await rig.campaign('e2e-successor');
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    expect(waiting.stateReason).toContain('awaiting operator confirmation');
    expect(waiting.successorClientId).toBeTruthy();
    expect(waiting.successorClientId).not.toBe(reg.client_id);
    // A real overlap: both registrations got tokens during the soak.
    const soak = (await rig.ds.query(
      `SELECT method, client_id FROM probes WHERE client_row_id = $1 AND purpose = 'parallel_auth' AND outcome = 'ok'`,
      [id],
    )) as { method: string; client_id: string }[];
    expect(soak).toEqual(
      expect.arrayContaining([
        { method: 'client_secret_basic', client_id: reg.client_id },
        { method: 'private_key_jwt', client_id: waiting.successorClientId },
      ]),
    );

    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops', {
      auditDetail: { note: 'workload moved to the successor' },
    });
    const done = await clientReaches(rig, id, Phase.Completed, PhaseState.Done);
    expect(done.registrationState).toMatchObject({ originalDeleted: true });
    expect(done.secretStatus).toBe('shredded');
    expect((await basicTokenRequest(rig, reg.client_id, reg.client_secret)).body).toMatchObject({
      error: 'invalid_client',
    });
    expect(await phasesEntered(rig, id)).toEqual(PHASE_ORDER);
  });

  it('a key refused right after an atomic switch: switched back to the secret by itself, failed with the reason', async () => {
    const { id, reg } = await rig.client({
      tags: ['e2e-switchback'],
      target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
    });
    await rig.campaign('e2e-switchback');
    const waiting = await clientReaches(rig, id, Phase.Cutover, PhaseState.Waiting);
    // The JWKS the server would fetch disappears (a broken publication): the switch cannot work.
    const oldJwksId = waiting.jwksId!;
    await rig.ds.query(`UPDATE clients SET jwks_id = $2 WHERE id = $1`, [id, `moved-${oldJwksId}`]);
    await rig.worker.get(JwksChanges).announce(oldJwksId);
    await rig.worker.get(ClientTransitions).apply(id, { type: 'cutover_confirmed' }, 'ops');

    const failed = await clientReaches(rig, id, Phase.Cutover, PhaseState.Failed);
    expect(failed.stateReason).toContain('key probe failed after cutover');
    const reverted = await waitFor(
      () => rig.row(id),
      (c) => c.serverRevertTo === null,
    );
    expect(reverted.registrationState.authMethod).toBe('client_secret_basic');
    expect((await basicTokenRequest(rig, reg.client_id, reg.client_secret)).status).toBe(200);
    expect((await actions(rig, id)).map((e) => e.action)).toContain('client.server_reverted');
  });

  it('rollback undoes the last phase at the server and in Keyshift, and is refused from secret_revocation on', async () => {
    // Outside a campaign an operator advances each phase.
    const { id, reg } = await rig.client({
      tags: ['e2e-rollback'],
      target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place', cutover: 'automatic' },
    });
    const transitions = rig.worker.get(ClientTransitions);
    for (const phase of [Phase.VendorCheck, Phase.KeyRegistration, Phase.ParallelAuth, Phase.Cutover]) {
      await clientReaches(rig, id, phase, PhaseState.Done);
      if (phase !== Phase.Cutover) await transitions.apply(id, { type: 'advance', by: 'operator' }, 'ops');
    }
    expect((await basicTokenRequest(rig, reg.client_id, reg.client_secret)).status).toBe(401); // switched

    const rolled = await transitions.apply(id, { type: 'rollback' }, 'ops');
    expect(rolled.client).toMatchObject({ phase: Phase.ParallelAuth, paused: true });
    const reverted = await waitFor(
      () => rig.row(id),
      (c) => c.serverRevertTo === null,
    );
    expect(reverted.registrationState.authMethod).toBe('client_secret_basic');
    expect((await basicTokenRequest(rig, reg.client_id, reg.client_secret)).status).toBe(200);

    await transitions.apply(id, { type: 'resume' }, 'ops');
    await clientReaches(rig, id, Phase.ParallelAuth, PhaseState.Done);
    await transitions.apply(id, { type: 'advance', by: 'operator' }, 'ops');
    await clientReaches(rig, id, Phase.Cutover, PhaseState.Done);
    await transitions.apply(id, { type: 'advance', by: 'operator' }, 'ops');
    await clientReaches(rig, id, Phase.SecretRevocation, PhaseState.Done);
    await expect(transitions.apply(id, { type: 'rollback' }, 'ops')).rejects.toThrow(/point of no return/);
  });

  it('a campaign pauses itself past its failure rate and names the clients that failed and why', async () => {
    const good = await rig.client({ tags: ['e2e-failing'] });
    // A registration access token the server never issued: key registration needs a person.
    const bad = await rig.client({ tags: ['e2e-failing'], registrationAccessToken: 'not-the-token' });
    void good;
    const campaignId = await rig.campaign('e2e-failing', { canarySize: 2, maxFailureRate: 0 });
    const paused = await waitFor(
      () => rig.worker.get(CampaignsService).get(campaignId),
      (c) => c.status === 'paused',
      60_000,
    );
    expect(paused.pausedReason).toMatch(/failure rate 50\.0% \(1 of 2/);
    expect(paused.progress!.failures).toEqual([
      expect.objectContaining({
        clientRowId: bad.id,
        phase: Phase.KeyRegistration,
        state: PhaseState.Blocked,
        reason: expect.stringContaining('registration access token was refused'),
      }),
    ]);
    await expect(rig.worker.get(CampaignsService).resume(campaignId, {}, operator)).rejects.toThrow(/failure rate/);
  });
});
