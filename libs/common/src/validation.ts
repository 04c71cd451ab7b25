import { ValidationError, ValidatorOptions } from 'class-validator';
import { FieldProblem } from './errors';

/** Strict by default: unknown fields are errors, not silently dropped. */
export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One message per field: the first rule it breaks, not every rule it could.
  stopAtFirstError: true,
  validationError: { target: false, value: false },
};

/** Flattens class-validator's tree into `a.b[2].c: message` problems. */
export function fieldProblems(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const property = e.property || 'body';
    const field = /^\d+$/.test(property) ? `${prefix}[${property}]` : prefix ? `${prefix}.${property}` : property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      // class-validator starts messages with the bare property name; say the full path once instead.
      message: message.startsWith(`${property} `) ? message.slice(property.length + 1) : message,
    }));
    return [...own, ...fieldProblems(e.children ?? [], field)];
  });
}
