import { Module } from '@nestjs/common';
import { VendorCheckExecutor } from './vendor-check.executor';

export { VendorCheckExecutor };

/** Phase 1's executor, registered with the reconcile loop through the phase-executor port. */
@Module({
  providers: [VendorCheckExecutor],
  exports: [VendorCheckExecutor],
})
export class VendorCheckModule {}
