import { ProbeEntity } from './probe.entity';

export type ProbeView = Omit<ProbeEntity, 'client' | 'createdAt'> & { createdAt: string };

export function toProbeView(p: ProbeEntity): ProbeView {
  const { client: _client, createdAt, ...rest } = p;
  return { ...rest, createdAt: createdAt.toISOString() };
}
