import { Global, Module } from '@nestjs/common';
import { JobQueue } from './job-queue.service';
import { RedisConnection } from './redis-connection';

@Global()
@Module({ providers: [RedisConnection, JobQueue], exports: [RedisConnection, JobQueue] })
export class QueueModule {}
