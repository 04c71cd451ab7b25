/** Ends exhaustive switches: adding a union member without handling it fails to compile. */
export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable case: ${JSON.stringify(value)}`);
}
