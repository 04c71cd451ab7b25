import { Module } from '@nestjs/common';
import { ProbesModule } from '../probes/probes.module';
import { JwksChanges } from './jwks-changes';
import { KeyGenerator, NodeKeyGenerator } from './key-generator';
import { KeyRotationStepHandler } from './key-rotation-step.handler';
import { KeyRotationSteps } from './key-rotation-steps';
import { KeyRotationTickHandler } from './key-rotation-tick.handler';
import { KeyRotations } from './key-rotations.service';
import { KeysService } from './keys.service';

/** Client keys: generation, sealing, rotation and the JWKS change feed. Used by the API and the worker. */
@Module({
  imports: [ProbesModule],
  providers: [
    { provide: KeyGenerator, useClass: NodeKeyGenerator },
    JwksChanges,
    KeyRotations,
    KeyRotationSteps,
    KeyRotationStepHandler,
    KeyRotationTickHandler,
    KeysService,
  ],
  exports: [
    KeyGenerator,
    JwksChanges,
    KeyRotations,
    KeyRotationSteps,
    KeyRotationStepHandler,
    KeyRotationTickHandler,
    KeysService,
  ],
})
export class KeysModule {}
