import { Module } from '@nestjs/common';
import { ProbesModule } from '../probes/probes.module';
import { JwksChanges } from './jwks-changes';
import { KeyGenerator, NodeKeyGenerator } from './key-generator';
import { KeyRotationStepHandler } from './key-rotation-step.handler';
import { KeyRotationSteps } from './key-rotation-steps';
import { KeyRotationTickHandler } from './key-rotation-tick.handler';
import { KeyRotations } from './key-rotations.service';
import { KeysService } from './keys.service';

/** What the API and the worker use of key management (key generation is provided as a port). */
const KEY_SERVICES = [
  JwksChanges,
  KeyRotations,
  KeyRotationSteps,
  KeyRotationStepHandler,
  KeyRotationTickHandler,
  KeysService,
];

/** Client keys: generation, sealing, rotation and the JWKS change feed. Used by the API and the worker. */
@Module({
  imports: [ProbesModule],
  providers: [{ provide: KeyGenerator, useClass: NodeKeyGenerator }, ...KEY_SERVICES],
  exports: [KeyGenerator, ...KEY_SERVICES],
})
export class KeysModule {}
