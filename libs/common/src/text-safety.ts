import { FieldProblem } from './errors';

/**
 * Text PostgreSQL cannot store: NUL (text and jsonb columns refuse it: "invalid byte sequence",
 * "unsupported Unicode escape sequence") and unpaired UTF-16 surrogates (no UTF-8 form). A regex
 * rather than String#isWellFormed: that is ES2024 and the project compiles against ES2023.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this pattern must find
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export function isUnstorableText(s: string): boolean {
  return UNSTORABLE.test(s);
}

/** A property name safe to quote back: anything else (it could be a pasted secret) is not echoed. */
const PLAIN_NAME = /^[A-Za-z0-9_$.:/-]{1,64}$/;

export function quotableName(name: string): string {
  return PLAIN_NAME.test(name) ? name : '(unnamed property)';
}

/** `prefix.key` or `prefix[3]`, the path style fieldProblems uses. */
export function fieldPath(prefix: string, key: string | number): string {
  if (typeof key === 'number' || /^\d+$/.test(key)) return `${prefix}[${key}]`;
  const name = quotableName(key);
  return prefix ? `${prefix}.${name}` : name;
}

/**
 * Every string (value or property name) in a parsed body or query that PostgreSQL could not store,
 * named by its path, never quoted. Iterative, so a deep value cannot overflow the stack.
 */
export function unstorableTextProblems(value: unknown, root = 'body', limit = 20): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length && problems.length < limit) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (isUnstorableText(v)) problems.push({ field: path || root, message: UNSTORABLE_TEXT_MESSAGE });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: fieldPath(path, i) });
    } else if (v !== null && typeof v === 'object') {
      for (const [key, child] of Object.entries(v).reverse()) {
        if (isUnstorableText(key)) {
          problems.push({ field: path || root, message: `a property name ${UNSTORABLE_TEXT_MESSAGE}` });
          continue;
        }
        stack.push({ value: child, path: fieldPath(path, key) });
      }
    }
  }
  return problems;
}
