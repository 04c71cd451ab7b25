import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, ErrorCode } from '@keyshift/common';
import { Role, ROLE_RANK } from './api-token.entity';
import { ApiTokensService } from './api-tokens.service';
import { MIN_ROLE, PUBLIC_ROUTE } from './auth.decorators';
import { Principal } from './principal';

/** RFC 6750 bearer authentication with role checks, applied to every route not marked @Public(). */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(request.headers.authorization ?? '');
    if (!match) {
      throw new DomainError(
        ErrorCode.Unauthenticated,
        'a bearer API token is required (Authorization: Bearer <token>)',
      );
    }
    const principal = await this.tokens.authenticate(match[1]);
    if (!principal) throw new DomainError(ErrorCode.Unauthenticated, 'the API token is unknown or revoked');

    const needed = this.reflector.getAllAndOverride<Role>(MIN_ROLE, targets) ?? Role.Viewer;
    if (ROLE_RANK[principal.role] < ROLE_RANK[needed]) {
      throw new DomainError(
        ErrorCode.Forbidden,
        `this action needs the ${needed} role; the token has ${principal.role}`,
      );
    }
    request.principal = principal;
    return true;
  }
}
