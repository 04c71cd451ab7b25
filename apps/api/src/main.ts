import 'reflect-metadata';
import { ConfigError, loadConfig } from '@keyshift/config';
import { createApiApp } from './create-api-app';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApiApp(config);
  await app.listen({ host: config.api.host, port: config.api.port });
  process.stdout.write(`Keyshift API listening on ${config.api.publicUrl} (OpenAPI at ${config.api.publicUrl}/docs)\n`);
}

main().catch((error: unknown) => {
  // A config error names the variables; anything else at boot is a dependency that is down.
  process.stderr.write(
    error instanceof ConfigError ? `${error.message}\n` : `Keyshift API failed to start: ${(error as Error).stack}\n`,
  );
  process.exit(1);
});
