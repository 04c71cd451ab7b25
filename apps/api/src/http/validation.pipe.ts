import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { DomainError, fieldProblems, VALIDATOR_OPTIONS } from '@keyshift/common';

/**
 * Strict DTO validation: unknown fields and wrong types are 400s naming each field, and a body
 * that is not a JSON object where a DTO is expected is refused as a whole.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && metadata.metatype !== Object && this.toValidate(metadata);
    if (metadata.type === 'body' && isDto && value != null && (typeof value !== 'object' || Array.isArray(value))) {
      throw DomainError.validation([{ field: 'body', message: 'must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => DomainError.validation(fieldProblems(errors)),
  });
}
