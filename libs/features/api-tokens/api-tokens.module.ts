import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiTokenGuard } from './api-token.guard';
import { ApiTokensController } from './api-tokens.controller';
import { ApiTokensService } from './api-tokens.service';
import { FailedAuthLimiter } from './failed-auth-limiter';

/** Bearer-token authentication for the whole API, and the admin routes that manage tokens. */
@Module({
  controllers: [ApiTokensController],
  providers: [ApiTokensService, FailedAuthLimiter, { provide: APP_GUARD, useClass: ApiTokenGuard }],
  exports: [ApiTokensService],
})
export class ApiTokensModule {}
