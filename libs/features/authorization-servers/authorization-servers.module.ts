import { Module } from '@nestjs/common';
import { AuthorizationServersController } from './authorization-servers.controller';
import { AuthorizationServersService } from './authorization-servers.service';

@Module({
  controllers: [AuthorizationServersController],
  providers: [AuthorizationServersService],
  exports: [AuthorizationServersService],
})
export class AuthorizationServersModule {}
