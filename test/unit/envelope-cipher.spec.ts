import { randomBytes } from 'node:crypto';
import { DecryptionError, EnvelopeCipher } from '@keyshift/crypto';

describe('EnvelopeCipher', () => {
  const cipher = new EnvelopeCipher(randomBytes(32));

  it('round-trips a secret and never contains the plaintext', () => {
    const sealed = cipher.encrypt('s3cr3t-value', 'client_secret:abc');
    expect(sealed.includes(Buffer.from('s3cr3t-value'))).toBe(false);
    expect(cipher.decrypt(sealed, 'client_secret:abc').toString()).toBe('s3cr3t-value');
  });

  it('uses a fresh data key and nonces every time', () => {
    expect(cipher.encrypt('same', 'ctx').equals(cipher.encrypt('same', 'ctx'))).toBe(false);
  });

  it('refuses a ciphertext moved to another record or field', () => {
    const sealed = cipher.encrypt('value', 'client_secret:row-1');
    expect(() => cipher.decrypt(sealed, 'client_secret:row-2')).toThrow(DecryptionError);
    expect(() => cipher.decrypt(sealed, 'registration_access_token:row-1')).toThrow(DecryptionError);
  });

  it('detects a flipped bit anywhere in the envelope', () => {
    const sealed = cipher.encrypt('value', 'ctx');
    for (const offset of [10, 30, 50, 75, 90, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[offset] ^= 0x01;
      expect(() => cipher.decrypt(tampered, 'ctx')).toThrow(DecryptionError);
    }
  });

  it('names a different master key rather than failing obscurely, and does not leak the cause', () => {
    const sealed = cipher.encrypt('value', 'client_secret:x');
    const other = new EnvelopeCipher(randomBytes(32));
    expect(() => other.decrypt(sealed, 'client_secret:x')).toThrow('different master key');
  });

  it('fingerprints deterministically under its own key', () => {
    expect(cipher.fingerprint('abc')).toBe(cipher.fingerprint('abc'));
    expect(cipher.fingerprint('abc')).not.toBe(cipher.fingerprint('abd'));
    expect(new EnvelopeCipher(randomBytes(32)).fingerprint('abc')).not.toBe(cipher.fingerprint('abc'));
  });
});
