import { Injectable } from '@nestjs/common';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { KeyRotationSteps } from './key-rotation-steps';

@Injectable()
export class KeyRotationStepHandler implements JobHandler<JobName.KeyRotationStep> {
  readonly name = JobName.KeyRotationStep;

  constructor(private readonly steps: KeyRotationSteps) {}

  async handle(data: PayloadOf<JobName.KeyRotationStep>): Promise<void> {
    await this.steps.run(data.rotationId, data.version);
  }
}
