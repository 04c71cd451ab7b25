import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Role } from './api-token.entity';
import { Principal } from './principal';

export const PUBLIC_ROUTE = 'keyshift:public';
export const MIN_ROLE = 'keyshift:min-role';

/** No token needed (health, metrics, docs, the public JWKS). Everything else needs one. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The least role a route needs; routes without it need `viewer`. */
export const MinRole = (role: Role) => SetMetadata(MIN_ROLE, role);

/** The authenticated caller, set by ApiTokenGuard. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
