import { Global, Module } from '@nestjs/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { EnvelopeCipher } from './envelope-cipher';

@Global()
@Module({
  providers: [
    {
      provide: EnvelopeCipher,
      inject: [KEYSHIFT_CONFIG],
      useFactory: (config: KeyshiftConfig) => new EnvelopeCipher(config.crypto.masterKey),
    },
  ],
  exports: [EnvelopeCipher],
})
export class CryptoModule {}
