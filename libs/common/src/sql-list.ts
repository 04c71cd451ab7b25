/** `'a', 'b', 'c'` for CHECK constraints built from enums (values are our own constants, never input). */
export function sqlInList(values: readonly string[] | object): string {
  return (Array.isArray(values) ? values : Object.values(values)).map((v) => `'${String(v)}'`).join(', ');
}
