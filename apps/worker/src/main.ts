import 'reflect-metadata';
import { ConfigError, loadConfig } from '@keyshift/config';
import { createWorkerApp } from './create-worker-app';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  await createWorkerApp(config);
  process.stdout.write(`Keyshift worker running (reconcile every ${config.reconcile.intervalSeconds}s)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    error instanceof ConfigError
      ? `${error.message}\n`
      : `Keyshift worker failed to start: ${(error as Error).stack}\n`,
  );
  process.exit(1);
});
