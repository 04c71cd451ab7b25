import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuditLog } from './audit-log.service';
import { ListAuditEventsQueryDto, VerifyAuditQueryDto } from './audit.dto';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get('events')
  events(@Query() q: ListAuditEventsQueryDto) {
    return this.audit.list({ ...q, limit: q.limit ?? 100 });
  }

  /** Recomputes the hash chain (from the newest checkpoint, or ?mode=full from the genesis) and names the first broken link, if any. */
  @Get('verify')
  verify(@Query() q: VerifyAuditQueryDto) {
    return this.audit.verify({ mode: q.mode });
  }
}
