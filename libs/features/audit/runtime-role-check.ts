import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { AuditRepository } from './audit.repository';

/**
 * Says so at boot when the runtime connects with more than it needs: as a superuser (which can
 * switch the append-only triggers off) or as a member of the tables' owner (which can drop them).
 * A warning, not a refusal, so an installation that has not created its runtime role yet still runs.
 */
@Injectable()
export class RuntimeRoleCheck implements OnApplicationBootstrap {
  constructor(
    private readonly repository: AuditRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const me = await this.repository.runtimeRole();
    if (me && (me.superuser || me.owner)) {
      this.logger.warn(
        { superuser: me.superuser, owner: me.owner },
        'DATABASE_URL connects as a superuser or the owner of the tables: the audit log can be altered through it; ' +
          'connect as a member of keyshift_runtime and migrate with KEYSHIFT_MIGRATION_DATABASE_URL (README, Database roles)',
      );
    }
  }
}
