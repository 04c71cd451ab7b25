import { Injectable } from '@nestjs/common';
import { decodeCursor, encodeCursor, Page } from '@keyshift/common';
import { AuditEventRow, AuditRepository, EventFilter } from './audit.repository';

export interface AuditEventView {
  seq: string;
  occurredAt: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

/** The repository's filter, paged by the API's opaque cursor instead of a raw seq. */
export interface AuditFilter extends Omit<EventFilter, 'afterSeq'> {
  /** The nextCursor of the previous page. */
  cursor?: string;
  limit: number;
}

export function auditEventView(r: AuditEventRow): AuditEventView {
  return {
    seq: r.seq,
    occurredAt: r.occurred_at.toISOString(),
    actor: r.actor,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    before: r.before,
    after: r.after,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Reads the log for the API (GET /v1/audit/events) and for callers that page through a subject's events. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly repository: AuditRepository) {}

  async list(filter: AuditFilter): Promise<Page<AuditEventView>> {
    const { cursor, limit, ...where } = filter;
    const afterSeq = cursor ? decodeCursor(cursor, (k) => /^\d+$/.test(k)) : undefined;
    const rows = await this.repository.listEvents({ ...where, afterSeq }, limit + 1);
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(auditEventView);
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1].seq) : null };
  }
}
