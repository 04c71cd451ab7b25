import { Param, ParseUUIDPipe } from '@nestjs/common';
import { DomainError } from './errors';

/** A path parameter that must be a UUID; otherwise a 400 that names it. */
export const IdParam = (name = 'id') =>
  Param(
    name,
    new ParseUUIDPipe({ exceptionFactory: () => DomainError.validation([{ field: name, message: 'must be a UUID' }]) }),
  );
