import { Phase, PhaseState } from '@keyshift/domain';
import { AuditLog } from '@keyshift/features/audit/audit-log.service';
import { ClientTransitions } from '@keyshift/features/clients/client-transitions.service';
import { ClientsService } from '@keyshift/features/clients/clients.service';
import { JwksChanges } from '@keyshift/features/keys/jwks-changes';
import { aClient } from './factories';
import { clientReaches, MigrationRig, operator } from './migration-rig';
import type { TestAuthorizationServer } from './test-as';
import { waitFor } from './wait-for';

/** What the vendor-connector specs share: clients held by a twin, secret requests, the record checks. */

export type SecretMethod = 'client_secret_basic' | 'client_secret_post';

export const IN_PLACE = {
  authMethod: 'private_key_jwt',
  senderConstraint: 'none',
  strategy: 'in_place',
  cutover: 'automatic',
};

/** A client_credentials request with the shared secret, straight to the provider; its HTTP status. */
export async function secretRequestStatus(issuer: string, clientId: string, secret: string, method: SecretMethod) {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (method === 'client_secret_post') {
    form.set('client_id', clientId);
    form.set('client_secret', secret);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
  }
  return (await fetch(`${issuer}/token`, { method: 'POST', headers, body: form.toString() })).status;
}

/**
 * A client registered at the provider, adopted by the vendor's twin (as the vendor holds every
 * client), and imported into Keyshift with its secret, tagged `tag`.
 */
export async function twinClient(
  rig: MigrationRig,
  serverId: string,
  provider: TestAuthorizationServer,
  adopt: (registration: Record<string, string>, tag: string) => void,
  tag: string,
  method: SecretMethod,
  target: Record<string, unknown>,
): Promise<{ id: string; reg: Record<string, string> }> {
  const reg = await provider.register({ token_endpoint_auth_method: method, client_name: tag });
  adopt(reg, tag);
  const { id } = await rig.worker.get(ClientsService).create(
    aClient(serverId, {
      clientId: reg.client_id,
      clientSecret: reg.client_secret,
      authMethod: method,
      tags: [tag],
      target,
    }) as never,
    operator,
  );
  return { id, reg };
}

/** Outside a campaign: an operator advances each phase up to a done cutover. */
export async function advanceThroughCutover(rig: MigrationRig, id: string): Promise<void> {
  const transitions = rig.worker.get(ClientTransitions);
  for (const phase of [Phase.VendorCheck, Phase.KeyRegistration, Phase.ParallelAuth, Phase.Cutover]) {
    await clientReaches(rig, id, phase, PhaseState.Done);
    if (phase !== Phase.Cutover) await transitions.apply(id, { type: 'advance', by: 'operator' }, 'ops');
  }
}

/** A rollback, and the server revert the worker carries out after it. */
export async function rollBack(rig: MigrationRig, id: string): Promise<void> {
  await rig.worker.get(ClientTransitions).apply(id, { type: 'rollback' }, 'ops');
  await waitFor(
    () => rig.row(id),
    (c) => c.serverRevertTo === null,
  );
}

/** The phases a client's audit trail shows it entering, in order. */
export async function phasesEntered(rig: MigrationRig, id: string): Promise<string[]> {
  const trail = (await rig.worker.get(AuditLog).list({ subjectId: id, limit: 200 })).items;
  const entered = [Phase.VendorCheck as string];
  for (const e of trail) {
    const phase = (e.after as Record<string, unknown> | null)?.phase as string | undefined;
    if (phase && phase !== entered[entered.length - 1]) entered.push(phase);
  }
  return entered;
}

/** The client's journalled exchanges with its server, oldest first. */
export async function journal(rig: MigrationRig, id: string): Promise<{ operation: string; status: string }[]> {
  return (await rig.ds.query(
    `SELECT operation, status FROM registration_exchanges WHERE client_row_id = $1 ORDER BY created_at`,
    [id],
  )) as { operation: string; status: string }[];
}

/** How many audit events and journal rows carry any of these values (secrets, tokens): must be 0. */
export async function recordsHolding(rig: MigrationRig, ...values: string[]): Promise<number> {
  let total = 0;
  for (const value of values) {
    const [{ n }] = (await rig.ds.query(
      `SELECT (SELECT count(*) FROM audit_events WHERE strpos(coalesce(after::text, '') || coalesce(before::text, ''), $1) > 0)
            + (SELECT count(*) FROM registration_exchanges WHERE strpos(coalesce(change::text, '') || coalesce(answer::text, ''), $1) > 0) AS n`,
      [value],
    )) as { n: string }[];
    total += Number(n);
  }
  return total;
}

/** The JWKS the server would fetch disappears (a broken publication): a switch to the key cannot work. */
export async function breakPublishedJwks(rig: MigrationRig, id: string, jwksId: string): Promise<void> {
  await rig.ds.query(`UPDATE clients SET jwks_id = $2 WHERE id = $1`, [id, `moved-${jwksId}`]);
  await rig.worker.get(JwksChanges).announce(jwksId);
}
