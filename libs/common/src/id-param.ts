import { Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { DomainError } from './errors';

/**
 * A path parameter that must be a UUID; otherwise a 400 that names it. It also tells the OpenAPI
 * document so (format uuid), which the HTTP fuzz suite generates requests from.
 */
export const IdParam =
  (name = 'id'): ParameterDecorator =>
  (target, key, index) => {
    Param(
      name,
      new ParseUUIDPipe({
        exceptionFactory: () => DomainError.validation([{ field: name, message: 'must be a UUID' }]),
      }),
    )(target, key, index);
    const method = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (key !== undefined && method) ApiParam({ name, type: String, format: 'uuid' })(target, key, method);
  };
