import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { ProbeJobHandler } from './probe-job.handler';
import { ProbeRunner } from './probe-runner.service';
import { ProbeSweepHandler } from './probe-sweep.handler';
import { ProbesService } from './probes.service';
import { ServerBackoff } from './server-backoff';

/**
 * Token-endpoint probes: running them, their evidence, and the sweeps. Used by the API and the worker.
 * The keys they sign with come through the ClientSigningKeys port (KeyCustodyModule, global).
 */
@Module({
  imports: [ClientsModule],
  providers: [ProbesService, ProbeRunner, ProbeJobHandler, ProbeSweepHandler, ServerBackoff],
  exports: [ProbesService, ProbeRunner, ProbeJobHandler, ProbeSweepHandler, ServerBackoff],
})
export class ProbesModule {}
