import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { JOB_HANDLERS, JobWorkerHost } from '@keyshift/queue';
import { ClientsModule } from '../clients/clients.module';
import { PHASE_EXECUTORS, PhaseExecutor } from './phase-executor';
import { ReconcileClientHandler } from './reconcile-client.handler';
import { ReconcileSweepHandler } from './reconcile-sweep.handler';
import { ReconcileTick } from './reconcile.tick';

/** Phase executors registered so far: later features add theirs here. */
const executors: PhaseExecutor[] = [];

@Module({
  imports: [ScheduleModule.forRoot(), ClientsModule],
  providers: [
    ReconcileSweepHandler,
    ReconcileClientHandler,
    ReconcileTick,
    JobWorkerHost,
    { provide: PHASE_EXECUTORS, useValue: executors },
    {
      provide: JOB_HANDLERS,
      inject: [ReconcileSweepHandler, ReconcileClientHandler],
      useFactory: (...handlers: unknown[]) => handlers,
    },
  ],
  exports: [ReconcileSweepHandler, ReconcileClientHandler, ReconcileTick],
})
export class ReconcileModule {}
