import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelope encryption for secrets at rest (client secrets, registration access
 * tokens, private keys).
 *
 * Each record gets its own random data key (DEK); the DEK encrypts the plaintext and the master key
 * (KEK, from configuration) wraps the DEK. Both layers are AES-256-GCM with fresh 96-bit nonces.
 * The record's context (e.g. "client_secret:<client uuid>") is bound as additional authenticated
 * data, so a ciphertext copied onto another row or field fails to decrypt. Destroying the wrapped
 * DEK destroys the record (crypto-shredding).
 *
 * node:crypto is used directly rather than a library: the construction is two AEAD calls and a
 * fixed binary layout, and every JOSE/KMS wrapper we looked at either pulls a KMS client or hides
 * the AAD binding we rely on.
 *
 * Layout (version 1):
 *   0      1 byte   version = 1
 *   1      8 bytes  master key id (first 8 bytes of SHA-256 of the master key), for key rotation
 *   9     12 bytes  nonce for the DEK wrap
 *   21    16 bytes  tag of the DEK wrap
 *   37    32 bytes  wrapped DEK
 *   69    12 bytes  nonce for the payload
 *   81    16 bytes  tag of the payload
 *   97     n bytes  ciphertext
 */
const VERSION = 1;
const HEADER = 97;

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export class EnvelopeCipher {
  private readonly masterKeyId: Buffer;
  private readonly fingerprintKey: Buffer;

  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
    this.masterKeyId = createHash('sha256').update(masterKey).digest().subarray(0, 8);
    // A separate key for fingerprints, so a fingerprint can never be used to attack the KEK.
    this.fingerprintKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keyshift fingerprint v1', 32));
  }

  encrypt(plaintext: string | Buffer, context: string): Buffer {
    const aad = Buffer.from(context, 'utf8');
    const dek = randomBytes(32);
    try {
      const wrapNonce = randomBytes(12);
      const wrap = createCipheriv('aes-256-gcm', this.masterKey, wrapNonce);
      wrap.setAAD(aad);
      const wrappedDek = Buffer.concat([wrap.update(dek), wrap.final()]);
      const wrapTag = wrap.getAuthTag();

      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dek, nonce);
      cipher.setAAD(aad);
      const body = Buffer.concat([
        cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
        cipher.final(),
      ]);
      return Buffer.concat([
        Buffer.from([VERSION]),
        this.masterKeyId,
        wrapNonce,
        wrapTag,
        wrappedDek,
        nonce,
        cipher.getAuthTag(),
        body,
      ]);
    } finally {
      dek.fill(0);
    }
  }

  decrypt(envelope: Buffer, context: string): Buffer {
    if (envelope.length < HEADER || envelope[0] !== VERSION) throw new DecryptionError('unknown envelope format');
    if (!envelope.subarray(1, 9).equals(this.masterKeyId)) {
      throw new DecryptionError('envelope was sealed under a different master key');
    }
    const aad = Buffer.from(context, 'utf8');
    let dek: Buffer | undefined;
    try {
      const unwrap = createDecipheriv('aes-256-gcm', this.masterKey, envelope.subarray(9, 21));
      unwrap.setAAD(aad);
      unwrap.setAuthTag(envelope.subarray(21, 37));
      dek = Buffer.concat([unwrap.update(envelope.subarray(37, 69)), unwrap.final()]);
      const decipher = createDecipheriv('aes-256-gcm', dek, envelope.subarray(69, 81));
      decipher.setAAD(aad);
      decipher.setAuthTag(envelope.subarray(81, 97));
      return Buffer.concat([decipher.update(envelope.subarray(HEADER)), decipher.final()]);
    } catch {
      // Never echo the cause: OpenSSL messages can hint at which layer failed.
      throw new DecryptionError(`envelope does not open for context ${context.split(':')[0]}`);
    } finally {
      dek?.fill(0);
    }
  }

  /**
   * A keyed fingerprint of a secret (HMAC-SHA-256 under a key derived from the master key): lets an
   * import tell whether a secret changed, and spot one secret shared by several clients, without
   * decrypting anything. Useless to anyone without the master key.
   */
  fingerprint(secret: string): string {
    return createHmac('sha256', this.fingerprintKey).update(secret, 'utf8').digest('base64url');
  }
}
