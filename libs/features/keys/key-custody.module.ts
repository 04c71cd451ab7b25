import { Global, Module } from '@nestjs/common';
import { ClientSigningKeys } from '../probes/client-signing-keys';
import { KeyVault } from './key-vault';
import { ManagedSigningKeys } from './managed-signing-keys';

/**
 * Custody of the private keys Keyshift manages: the vault that seals them and the signer probes
 * use (the probes' ClientSigningKeys port). Global, imported once by the platform, so that probes
 * sign with managed keys without importing the keys feature, which itself uses probes (no cycle).
 */
@Global()
@Module({
  providers: [KeyVault, { provide: ClientSigningKeys, useClass: ManagedSigningKeys }],
  exports: [KeyVault, ClientSigningKeys],
})
export class KeyCustodyModule {}
