import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClientsRepository } from '../clients/clients.repository';

/** The API process's Prometheus registry: process metrics, HTTP latency, and the estate by phase. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** The public JWKS route's answers (it skips the latency histogram: see create-api-app.ts). */
  readonly jwksResponses: Counter<'status'>;

  constructor(clients: ClientsRepository) {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyshift_' });
    this.httpDuration = new Histogram({
      name: 'keyshift_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    });
    this.jwksResponses = new Counter({
      name: 'keyshift_jwks_responses_total',
      help: 'Public JWKS answers by status (200, 304, 404)',
      labelNames: ['status'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'keyshift_clients',
      help: 'Clients by migration phase and state',
      labelNames: ['phase', 'state'],
      registers: [this.registry],
      // Counted at scrape time: one indexed GROUP BY, no counters to keep in step with the table.
      async collect() {
        const rows = await clients.countsByPhaseAndState();
        this.reset();
        for (const r of rows) this.set({ phase: r.phase, state: r.state }, r.n);
      },
    });
  }
}
