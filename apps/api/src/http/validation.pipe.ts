import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import {
  DomainError,
  ErrorCode,
  FieldProblem,
  fieldProblems,
  unstorableTextProblems,
  VALIDATOR_OPTIONS,
} from '@keyshift/common';

/**
 * Strict DTO validation: unknown fields and wrong types are 400s naming each field, and a body
 * that is not a JSON object where a DTO is expected is refused as a whole. Then text PostgreSQL
 * cannot store (NUL, lone surrogates) is refused wherever it sits in a DTO body, a query string or
 * a path parameter: after validation, so that every name it quotes is one the DTO knows. Bodies
 * without a DTO (the import) check it row by row.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && metadata.metatype !== Object && this.toValidate(metadata);
    if (metadata.type === 'body' && isDto && value != null && (typeof value !== 'object' || Array.isArray(value))) {
      throw DomainError.validation([{ field: 'body', message: 'must be a JSON object' }]);
    }
    const root = metadata.type === 'param' ? (metadata.data ?? 'path') : metadata.type;
    let transformed: unknown;
    try {
      transformed = await super.transform(value, metadata);
    } catch (error) {
      throw metadata.type === 'query' ? renamedRoot(error, 'query') : error;
    }
    if (metadata.type === 'query' || metadata.type === 'param' || (metadata.type === 'body' && isDto)) {
      const problems = unstorableTextProblems(value, root);
      if (problems.length) throw DomainError.validation(problems);
    }
    return transformed;
  }
}

/** fieldProblems names the top level `body`; for a query string it is the query. */
function renamedRoot(error: unknown, root: string): unknown {
  if (!(error instanceof DomainError) || error.code !== ErrorCode.ValidationFailed) return error;
  const fields = (error.details?.fields ?? []) as FieldProblem[];
  return DomainError.validation(fields.map((f) => (f.field === 'body' ? { ...f, field: root } : f)));
}

export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => DomainError.validation(fieldProblems(errors)),
  });
}
