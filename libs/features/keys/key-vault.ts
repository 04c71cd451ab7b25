import { createPrivateKey, KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { JWK } from 'jose';

/**
 * Seals and opens managed private keys with the same envelope scheme as client secrets. The key
 * row's id is the AAD, so a sealed key copied onto another row does not open.
 */
@Injectable()
export class KeyVault {
  constructor(private readonly cipher: EnvelopeCipher) {}

  seal(keyId: string, privateJwk: JWK): Buffer {
    return this.cipher.encrypt(JSON.stringify(privateJwk), context(keyId));
  }

  openJwk(keyId: string, sealed: Buffer): JWK {
    return JSON.parse(this.cipher.decrypt(sealed, context(keyId)).toString('utf8')) as JWK;
  }

  openKeyObject(keyId: string, sealed: Buffer): KeyObject {
    return privateKeyObjectOf(this.openJwk(keyId, sealed));
  }
}

/** A private JWK as a node:crypto KeyObject (which refuses JOSE's metadata members). */
export function privateKeyObjectOf(privateJwk: JWK): KeyObject {
  const { kid: _kid, alg: _alg, use: _use, ...jwk } = privateJwk;
  return createPrivateKey({ key: jwk as never, format: 'jwk' });
}

const context = (keyId: string) => `client_key:${keyId}`;
