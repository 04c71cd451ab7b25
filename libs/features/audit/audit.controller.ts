import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuditQueryService } from './audit-query.service';
import { AuditVerifyService } from './audit-verify.service';
import { ListAuditEventsQueryDto, VerifyAuditQueryDto } from './audit.dto';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly verifier: AuditVerifyService,
  ) {}

  @Get('events')
  events(@Query() q: ListAuditEventsQueryDto) {
    return this.query.list({ ...q, limit: q.limit ?? 100 });
  }

  /** Recomputes the hash chain (from the newest checkpoint, or ?mode=full from the genesis) and names the first broken link, if any. */
  @Get('verify')
  verify(@Query() q: VerifyAuditQueryDto) {
    return this.verifier.verify({ mode: q.mode });
  }
}
