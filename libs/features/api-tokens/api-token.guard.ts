import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, ErrorCode } from '@keyshift/common';
import { Role, ROLE_RANK } from './api-token.entity';
import { ApiTokensService } from './api-tokens.service';
import { MIN_ROLE, PUBLIC_ROUTE } from './auth.decorators';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { Principal } from './principal';

/**
 * RFC 6750 bearer authentication with role checks, applied to every route not marked @Public().
 * An IP that has presented too many unknown or revoked tokens gets 429 with Retry-After, and its
 * tokens are not looked up until the window ends (FailedAuthLimiter).
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokensService,
    private readonly failures: FailedAuthLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<{
      ip: string;
      headers: Record<string, string | undefined>;
      principal?: Principal;
    }>();
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(request.headers.authorization ?? '');
    if (!match) {
      throw new DomainError(
        ErrorCode.Unauthenticated,
        'a bearer API token is required (Authorization: Bearer <token>)',
      );
    }
    const retryAfter = await this.failures.retryAfterSeconds(request.ip);
    if (retryAfter !== null) {
      http.getResponse<{ header(name: string, value: string): unknown }>().header('retry-after', String(retryAfter));
      throw new DomainError(
        ErrorCode.RateLimited,
        `too many failed authentications from this address; try again in ${retryAfter} s`,
        { retryAfterSeconds: retryAfter },
      );
    }
    const principal = await this.tokens.authenticate(match[1]);
    if (!principal) {
      await this.failures.recordFailure(request.ip);
      throw new DomainError(ErrorCode.Unauthenticated, 'the API token is unknown or revoked');
    }

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
