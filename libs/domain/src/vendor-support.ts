import type { ConnectorCapabilities } from './connector-capabilities';
import { CLIENT_ASSERTION_TYP } from './connector-capabilities';
import { Evidence } from './evidence';
import { SIGNING_ALGS, usableAlg, usableDpopAlg } from './signing-algs';

export interface AdvertisedCapabilities {
  tokenEndpointAuthMethods: string[];
  tokenEndpointAuthSigningAlgs: string[];
  dpopSigningAlgs: string[];
  registrationEndpoint: string | null;
}

export interface MigrationTarget {
  authMethod: string;
  senderConstraint: 'dpop' | 'none';
  strategy: 'in_place' | 'successor';
}

/** How Keyshift is set up to sign client assertions for the server (its profile). */
export interface AssertionSettings {
  audience: 'issuer' | 'token_endpoint';
  /** The lifetime Keyshift's assertions have there (assertionLifetimeSeconds). */
  lifetimeSeconds: number;
}

/** What the connector for the server can do, and how Keyshift is set up to speak to it. */
export interface ConnectorFacts {
  capabilities: ConnectorCapabilities;
  assertion: AssertionSettings;
}

/**
 * Phase 1's evidence: do the server's advertised capabilities and its connector's cover what this
 * client's migration needs? Names each missing piece, in words a vendor-escalation ticket can quote.
 */
export function vendorSupport(
  caps: AdvertisedCapabilities,
  target: MigrationTarget,
  connector: ConnectorFacts,
): Evidence {
  const c = connector.capabilities;
  const missing: string[] = [];
  if (!caps.tokenEndpointAuthMethods.includes(target.authMethod)) {
    missing.push(`token_endpoint_auth_method ${target.authMethod}`);
  }
  if (target.authMethod === 'private_key_jwt') missing.push(...assertionGaps(caps, connector));
  if (target.senderConstraint === 'dpop' && !usableDpopAlg(caps.dpopSigningAlgs)) {
    missing.push(`DPoP with a proof alg Keyshift signs with (${SIGNING_ALGS.dpopProof.join(', ')})`);
  }
  if (target.senderConstraint === 'dpop' && !c.senderConstraints.dpop) {
    missing.push('a way for the connector to require DPoP-bound tokens for the client');
  }
  // The migration always registers Keyshift's hosted JWKS, so rotations need no server call.
  if (!c.keyDelivery.includes('jwks_uri')) {
    missing.push('key delivery by jwks_uri through the connector (Keyshift registers its hosted JWKS)');
  }
  // In place, the method switch at cutover stops the secret, and revocation regenerates or deletes
  // what the server still stores; removing one credential among several is not built yet.
  if (target.strategy === 'in_place' && c.secretRetirement === 'remove_credential') {
    missing.push(
      'secret retirement by the method switch, a regeneration or a delete (the connector retires secrets by removing one credential among several, not built yet)',
    );
  }
  if (c.credential === 'registration_access_token' && !caps.registrationEndpoint) {
    missing.push('registration_endpoint (RFC 7591), needed by a connector that manages registrations by RFC 7592');
  }
  if (target.strategy === 'successor' && !c.canRegister) {
    missing.push('new registrations through the connector, needed by the successor strategy');
  }
  if (target.strategy === 'successor' && !c.canDelete) {
    missing.push('deleting the original registration through the connector, needed by the successor strategy');
  }
  return missing.length
    ? { kind: 'vendor_support', supported: false, missing }
    : { kind: 'vendor_support', supported: true };
}

/** What stands between the server's assertion profile and the assertions Keyshift signs. */
function assertionGaps(caps: AdvertisedCapabilities, { capabilities, assertion }: ConnectorFacts): string[] {
  const profile = capabilities.assertion;
  const gaps: string[] = [];
  const verified = profile.algs
    ? caps.tokenEndpointAuthSigningAlgs.filter((alg) => profile.algs!.includes(alg))
    : caps.tokenEndpointAuthSigningAlgs;
  if (!usableAlg(verified)) {
    gaps.push(`a client assertion alg Keyshift signs with (${SIGNING_ALGS.clientAssertion.join(', ')})`);
  }
  if (!profile.audiences.includes(assertion.audience)) {
    gaps.push(
      `client assertions with aud ${assertion.audience} (the server accepts ${profile.audiences.join(' or ')})`,
    );
  }
  if (profile.maxLifetimeSeconds !== null && assertion.lifetimeSeconds > profile.maxLifetimeSeconds) {
    gaps.push(
      `client assertions living ${assertion.lifetimeSeconds} s (the server accepts at most ${profile.maxLifetimeSeconds} s: lower the server's maxAssertionSeconds)`,
    );
  }
  if (profile.typ !== null && profile.typ !== CLIENT_ASSERTION_TYP) {
    gaps.push(`client assertions typed ${profile.typ} (Keyshift writes ${CLIENT_ASSERTION_TYP})`);
  }
  return gaps;
}
