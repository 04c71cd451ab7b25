import { Module } from '@nestjs/common';
import { AuthorizationServersController } from './authorization-servers.controller';
import { AuthorizationServersModule } from './authorization-servers.module';

@Module({ imports: [AuthorizationServersModule], controllers: [AuthorizationServersController] })
export class AuthorizationServersHttpModule {}
