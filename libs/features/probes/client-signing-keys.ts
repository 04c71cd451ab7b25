import { SigningKey } from './client-assertion';

/**
 * Where a private_key_jwt probe gets a key to sign with: the client's active key, or a named one
 * (a rotation tests its pending key before promoting it). The keys feature implements it
 * (ManagedSigningKeys); tests may swap in their own.
 */
export abstract class ClientSigningKeys {
  /** The key to sign with: `keyId`, else the active key; null when Keyshift holds no such private key. */
  abstract signingKey(clientRowId: string, keyId?: string): Promise<SigningKey | null>;
  /** Whether the client has an active key Keyshift can sign with (without opening it). */
  abstract canSign(clientRowId: string): Promise<boolean>;
}
