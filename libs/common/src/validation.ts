import { applyDecorators } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsDate, isISO8601, IsObject, ValidateNested, ValidationError, ValidatorOptions } from 'class-validator';
import { FieldProblem } from './errors';
import { fieldPath } from './text-safety';

/** Strict by default: unknown fields are errors, not silently dropped. */
export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One message per field: the first rule it breaks, not every rule it could.
  stopAtFirstError: true,
  validationError: { target: false, value: false },
};

export const UNKNOWN_FIELD_MESSAGE = 'has a field that is not in the API (its name is not repeated back)';

/**
 * Flattens class-validator's tree into `a.b[2].c: message` problems. Values are never quoted (the
 * options above keep them out of the tree, and no default message uses $value), and neither is an
 * unknown property's name: a form body, a pasted line or a mistyped object turns whole secrets
 * into property names. The problem names the object holding it (`body` at the top).
 */
export function fieldProblems(errors: ValidationError[], prefix = '', root = 'body'): FieldProblem[] {
  const seen = new Set<string>();
  return errors.flatMap((e) => {
    const property = e.property || root;
    if (e.constraints?.whitelistValidation) {
      const field = prefix || root;
      if (seen.has(field)) return [];
      seen.add(field);
      return [{ field, message: UNKNOWN_FIELD_MESSAGE }];
    }
    const field = fieldPath(prefix, property);
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      // class-validator starts messages with the bare property name; say the full path once instead.
      message: message.startsWith(`${property} `) ? message.slice(property.length + 1) : message,
    }));
    return [...own, ...fieldProblems(e.children ?? [], field, root)];
  });
}

/**
 * A nested DTO field: a JSON object only. Without IsObject, class-transformer maps `[]` to an empty
 * array that ValidateNested accepts (a campaign `selector: []` once selected the whole estate).
 */
export function NestedObject(type: () => new () => object): PropertyDecorator {
  return applyDecorators(
    IsObject({ message: 'must be a JSON object' }),
    ValidateNested(),
    Type(type) as PropertyDecorator,
  );
}

/**
 * A date-time with its offset (RFC 3339, the OpenAPI `date-time` format): without one, the instant
 * would depend on the server's time zone.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;

export const DATE_TIME_MESSAGE = 'must be an ISO 8601 date-time string with an offset, e.g. 2024-05-01T09:30:00Z';

/**
 * An ISO 8601 date-time string, parsed to a Date. `@Type(() => Date)` alone turns 0, -1, 1.5 and
 * true into dates; here anything but such a string (a real calendar date too: no 2020-13-01)
 * stays as it came and fails IsDate.
 */
export function IsoDateTime(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && DATE_TIME.test(value) && isISO8601(value, { strict: true, strictSeparator: true })
        ? new Date(value)
        : value,
    ) as PropertyDecorator,
    IsDate({ message: DATE_TIME_MESSAGE }),
  );
}
