import { Role } from './api-token.entity';

/** Who is calling: resolved from the bearer token by the auth guard. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

/** How a principal is named in the audit log. */
export function actorOf(principal: Principal): string {
  return `api-token:${principal.name}`;
}

export const SYSTEM_ACTORS = {
  bootstrap: 'system:bootstrap',
  worker: 'system:worker',
  scheduler: 'system:scheduler',
} as const;
