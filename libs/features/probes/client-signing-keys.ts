import { Injectable } from '@nestjs/common';
import { SigningKey } from './client-assertion';

/**
 * Where a private_key_jwt probe gets the client's active signing key. Key management (issue 4)
 * provides the real implementation; until then no client has a key Keyshift can sign with, and
 * private_key_jwt probes are refused with that reason rather than faked.
 */
export abstract class ClientSigningKeys {
  abstract activeKey(clientRowId: string): Promise<SigningKey | null>;
}

@Injectable()
export class NoManagedKeysYet extends ClientSigningKeys {
  async activeKey(): Promise<SigningKey | null> {
    return null;
  }
}
