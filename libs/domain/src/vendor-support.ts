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
  connector: 'rfc7592' | 'manual';
}

/**
 * Phase 1's evidence: does what the server advertises cover what this client's migration needs?
 * Names each missing piece, in words a vendor-escalation ticket can quote.
 */
export function vendorSupport(caps: AdvertisedCapabilities, target: MigrationTarget): Evidence {
  const missing: string[] = [];
  if (!caps.tokenEndpointAuthMethods.includes(target.authMethod)) {
    missing.push(`token_endpoint_auth_method ${target.authMethod}`);
  }
  if (target.authMethod === 'private_key_jwt' && !usableAlg(caps.tokenEndpointAuthSigningAlgs)) {
    missing.push(`a client assertion alg Keyshift signs with (${SIGNING_ALGS.clientAssertion.join(', ')})`);
  }
  if (target.senderConstraint === 'dpop' && !usableDpopAlg(caps.dpopSigningAlgs)) {
    missing.push(`DPoP with a proof alg Keyshift signs with (${SIGNING_ALGS.dpopProof.join(', ')})`);
  }
  if (target.connector === 'rfc7592' && !caps.registrationEndpoint) {
    missing.push('registration_endpoint (RFC 7591), needed by the rfc7592 connector');
  }
  return missing.length
    ? { kind: 'vendor_support', supported: false, missing }
    : { kind: 'vendor_support', supported: true };
}
