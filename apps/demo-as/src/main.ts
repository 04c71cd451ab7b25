import { startAuthorizationServer } from './authorization-server';

/**
 * Runs the demo/test authorization server as its own process and prints one JSON line,
 * `{"issuer": "..."}`, once it listens. Arguments: `--port N` (0 = any), `--no-rotate-rat`,
 * `--dpop-algs A,B` (the DPoP proof algs it accepts), `--admin-reissue` (tests: an admin route that
 * issues a new registration access token), `--accept-client-ids` (tests: a registration may name its
 * own client_id, as a vendor admin API twin in front of this server lets its callers do).
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const dpopArg = args.indexOf('--dpop-algs');
  const running = await startAuthorizationServer({
    port: portArg >= 0 ? Number(args[portArg + 1]) : 0,
    rotateRegistrationAccessToken: !args.includes('--no-rotate-rat'),
    dpopSigningAlgs: dpopArg >= 0 ? args[dpopArg + 1].split(',') : undefined,
    adminReissueRoute: args.includes('--admin-reissue'),
    acceptClientIds: args.includes('--accept-client-ids'),
  });
  process.stdout.write(`${JSON.stringify({ issuer: running.issuer })}\n`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo authorization server failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
