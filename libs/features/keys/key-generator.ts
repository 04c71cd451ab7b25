import { generateKeyPair as generateKeyPairCallback, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { Injectable } from '@nestjs/common';
import { calculateJwkThumbprint, JWK } from 'jose';
import { CLIENT_KEY_ALGS, KeyGenerationParams } from '@keyshift/domain';
import { KeyAlgorithm, KeySpec, PUBLIC_MEMBERS } from './key-algorithms';

const generateKeyPair = promisify(generateKeyPairCallback);

export interface GeneratedKey {
  kid: string;
  /** Public members, kid, alg and use: what the JWKS publishes. */
  publicJwk: Record<string, string>;
  /** The whole private JWK; sealed by KeyVault before it is stored. */
  privateJwk: JWK;
}

/** Key generation as a port, so tests can swap it. */
export abstract class KeyGenerator {
  abstract generate(spec: KeySpec): Promise<GeneratedKey>;
}

/**
 * node:crypto's asynchronous generateKeyPair runs in libuv's thread pool: an RSA-3072 key (hundreds
 * of milliseconds of CPU) never blocks the event loop. jose's generateKeyPair would do the same
 * through WebCrypto but returns non-extractable CryptoKeys by default; KeyObjects export straight to JWK.
 */
@Injectable()
export class NodeKeyGenerator extends KeyGenerator {
  async generate(spec: KeySpec): Promise<GeneratedKey> {
    const { privateKey } = await this.pair(spec);
    const privateJwk = privateKey.export({ format: 'jwk' }) as JWK;
    return withKid(spec.alg, privateJwk);
  }

  private pair(spec: KeySpec): Promise<{ privateKey: KeyObject }> {
    const params: KeyGenerationParams = CLIENT_KEY_ALGS[spec.alg].generation;
    switch (params.type) {
      case 'rsa':
        return generateKeyPair('rsa', { modulusLength: spec.modulusLength ?? params.defaultModulusLength });
      case 'ed25519':
        return generateKeyPair('ed25519');
      case 'ec':
        return generateKeyPair('ec', { namedCurve: params.namedCurve });
    }
  }
}

/** The published form of a key: allowlisted public members, its RFC 7638 thumbprint as kid, alg and use. */
export async function publicJwkOf(alg: KeyAlgorithm, jwk: JWK): Promise<Record<string, string>> {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''];
  if (!members) throw new Error(`unsupported key type ${jwk.kty}`);
  const pub = Object.fromEntries(members.map((m) => [m, (jwk as Record<string, string>)[m]]));
  const kid = await calculateJwkThumbprint(pub as JWK, 'sha256');
  return { ...pub, kid, alg, use: 'sig' };
}

async function withKid(alg: KeyAlgorithm, privateJwk: JWK): Promise<GeneratedKey> {
  const publicJwk = await publicJwkOf(alg, privateJwk);
  return { kid: publicJwk.kid, publicJwk, privateJwk: { ...privateJwk, kid: publicJwk.kid, alg } };
}
