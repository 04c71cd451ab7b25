// Two rules the gates and the policy around the machine both apply; a file of their own so that
// gates.ts need not import the policy module (which imports the machine's types).

/** After this many attempts of one phase (or one job), a transient fault is no longer retried. */
export function retriesExhausted(attemptsSoFar: number, maxAttempts: number): boolean {
  return attemptsSoFar >= maxAttempts;
}

/** The cutover waits for a person: the client asks for confirmation and none is recorded yet. */
export function awaitsCutoverConfirmation(client: {
  cutover: 'confirm' | 'automatic';
  cutoverConfirmedAt: Date | null;
}): boolean {
  return client.cutover === 'confirm' && client.cutoverConfirmedAt === null;
}
