import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The real node-oidc-provider (apps/demo-as) as a child process on 127.0.0.1. A child rather than
 * in-process because oidc-provider is ESM-only and Jest on Node 20 cannot load ESM packages;
 * `npm test` builds dist/ first.
 */
export interface TestAuthorizationServer {
  issuer: string;
  process: ChildProcess;
  /** RFC 7591 registration; returns the server's response (client_id, client_secret, registration_access_token...). */
  register(metadata: Record<string, unknown>): Promise<Record<string, string>>;
  /** As the server's administrator: a new registration access token (needs `--admin-reissue`). */
  reissueRegistrationAccessToken(clientId: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestAuthorizationServer(args: string[] = []): Promise<TestAuthorizationServer> {
  const child = spawn(
    process.execPath,
    [join(__dirname, '..', '..', 'dist', 'apps', 'demo-as', 'src', 'main.js'), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { issuer: string }).issuer));
    child.once('exit', (code) => reject(new Error(`test AS exited with ${code}: ${stderr}`)));
  });
  return {
    issuer,
    process: child,
    register: async (metadata) => {
      const res = await fetch(`${issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(metadata),
      });
      const body = (await res.json()) as Record<string, string>;
      if (res.status !== 201) throw new Error(`registration failed: ${JSON.stringify(body)}`);
      return body;
    },
    reissueRegistrationAccessToken: async (clientId) => {
      const res = await fetch(`${issuer}/admin/clients/${encodeURIComponent(clientId)}/registration-access-token`, {
        method: 'POST',
      });
      if (res.status !== 201) throw new Error(`reissue failed: ${res.status}`);
      return ((await res.json()) as { registration_access_token: string }).registration_access_token;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
