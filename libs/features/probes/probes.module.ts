import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { KeyVault } from '../keys/key-vault';
import { ManagedSigningKeys } from '../keys/managed-signing-keys';
import { ClientSigningKeys } from './client-signing-keys';
import { ProbeJobHandler } from './probe-job.handler';
import { ProbeRunner } from './probe-runner.service';
import { ProbeSweepHandler } from './probe-sweep.handler';
import { ProbesService } from './probes.service';
import { ServerBackoff } from './server-backoff';

/** Token-endpoint probes: running them, their evidence, and the sweeps. Used by the API and the worker. */
@Module({
  imports: [ClientsModule],
  providers: [
    ProbesService,
    ProbeRunner,
    ProbeJobHandler,
    ProbeSweepHandler,
    ServerBackoff,
    KeyVault,
    // Provided here rather than in KeysModule, which imports this one: probes sign with managed keys.
    { provide: ClientSigningKeys, useClass: ManagedSigningKeys },
  ],
  exports: [ProbesService, ProbeRunner, ProbeJobHandler, ProbeSweepHandler, ServerBackoff, ClientSigningKeys, KeyVault],
})
export class ProbesModule {}
