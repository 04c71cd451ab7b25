import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LOGGER, Logger, PinoNestLogger } from '@keyshift/common';
import { KeyshiftConfig } from '@keyshift/config';
import { WorkerModule } from './worker.module';

export async function createWorkerApp(config: KeyshiftConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config), { bufferLogs: true });
  app.useLogger(new PinoNestLogger(app.get<Logger>(LOGGER).child({ component: 'nest' })));
  app.enableShutdownHooks();
  return app;
}
