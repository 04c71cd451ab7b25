import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Keyshift's worker as a child process (the built dist/), so a test can SIGKILL it at any moment
 * and start another: what fault tests need and an in-process worker cannot give.
 */
export class WorkerProcess {
  /** What killed workers said on the way down, for a failing test's message. */
  errors = '';
  private child: ChildProcess | null = null;

  start(env: Record<string, string>): void {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'apps', 'worker', 'src', 'main.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (this.errors += d.toString()));
    this.child = child;
  }

  /** SIGKILL, and wait until it is gone; nothing to do when none runs. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
