import { Evidence } from './evidence';

/** Client-assertion algorithms Keyshift signs with, in order of preference. */
export const KEYSHIFT_SIGNING_ALGS = ['ES256', 'PS256', 'RS256', 'EdDSA'] as const;

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

/** The first algorithm both sides support, or null. */
export function usableAlg(advertised: string[]): string | null {
  return KEYSHIFT_SIGNING_ALGS.find((alg) => advertised.includes(alg)) ?? null;
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
    missing.push(`a client assertion alg Keyshift signs with (${KEYSHIFT_SIGNING_ALGS.join(', ')})`);
  }
  if (target.senderConstraint === 'dpop' && !usableAlg(caps.dpopSigningAlgs)) {
    missing.push(`DPoP with an alg Keyshift signs with (${KEYSHIFT_SIGNING_ALGS.join(', ')})`);
  }
  if (target.connector === 'rfc7592' && !caps.registrationEndpoint) {
    missing.push('registration_endpoint (RFC 7591), needed by the rfc7592 connector');
  }
  return missing.length
    ? { kind: 'vendor_support', supported: false, missing }
    : { kind: 'vendor_support', supported: true };
}
