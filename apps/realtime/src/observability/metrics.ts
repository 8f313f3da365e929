import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of the service, on its own registry (so tests running several apps in
 * one process do not collide). Components record through these fields; `GET /metrics` renders them.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'realtime_connections',
    help: 'Open Socket.IO connections on this instance',
    labelNames: ['authenticated'] as const,
    registers: [this.registry],
  });

  /** Filled at scrape time from the namespace's rooms (see MetricsController). */
  readonly roomMembers = new Gauge({
    name: 'realtime_event_room_members',
    help: 'Sockets of this instance in each event room',
    labelNames: ['room'] as const,
    registers: [this.registry],
  });

  readonly messagesReceived = new Counter({
    name: 'realtime_messages_received_total',
    help: 'Client requests received, by event',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly messagesSent = new Counter({
    name: 'realtime_messages_sent_total',
    help: 'Messages sent to clients (answers, notifications, broadcasts), by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly lockOutcomes = new Counter({
    name: 'realtime_lock_requests_total',
    help: 'Lock-changing requests by event and outcome (ok or the error code)',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'realtime_request_duration_seconds',
    help: 'Time from receiving a client request to answering it',
    labelNames: ['event'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly rmqMessages = new Counter({
    name: 'realtime_rmq_messages_total',
    help: 'RabbitMQ messages consumed, by pattern and outcome',
    labelNames: ['pattern', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly availabilityUpdates = new Counter({
    name: 'realtime_availability_updates_total',
    help: 'Availability changes offered to the coalescer, and updates it sent (offered - sent = coalesced away)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly lifecyclePublished = new Counter({
    name: 'realtime_lifecycle_events_published_total',
    help: 'ticket-lock.* lifecycle events confirmed by RabbitMQ',
    registers: [this.registry],
  });

  readonly redisErrors = new Counter({
    name: 'realtime_redis_errors_total',
    help: 'Redis connection errors and failed commands',
    registers: [this.registry],
  });

  readonly mqttMessages = new Counter({
    name: 'realtime_mqtt_messages_total',
    help: 'MQTT messages handed to the broker (sent) or dropped from the full buffer (dropped), by topic kind',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly mqttConnected = new Gauge({
    name: 'realtime_mqtt_connected',
    help: '1 while this instance is connected to the MQTT broker; publisher: 1 while it publishes the state topics',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });

  readonly catalogRestores = new Counter({
    name: 'realtime_catalog_restores_total',
    help: 'Times Redis was found empty (catalog marker gone) and the catalog defined again',
    registers: [this.registry],
  });

  readonly slowSocketDisconnects = new Counter({
    name: 'realtime_slow_socket_disconnects_total',
    help: 'Sockets disconnected because more than WS_MAX_BUFFERED_BYTES waited to be written to them (slow readers)',
    registers: [this.registry],
  });

  // Waiting rooms (CONTRACT §7). Cluster-wide figures are read from the store at scrape time.
  readonly waitingRoomQueueLength = new Gauge({
    name: 'realtime_waiting_room_queue_length',
    help: 'Users waiting in each waiting room (cluster-wide)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly waitingRoomActiveUsers = new Gauge({
    name: 'realtime_waiting_room_active_users',
    help: 'Admitted users whose admission is running, per waiting room (cluster-wide)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly waitingRoomAdmittedTotal = new Gauge({
    name: 'realtime_waiting_room_admitted',
    help: 'Users admitted since the waiting room was configured (cluster-wide, only rises)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly waitingRoomAdmissions = new Counter({
    name: 'realtime_waiting_room_admissions_total',
    help: 'Admissions granted by this instance while it was the admitter',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly waitingRoomAbandoned = new Counter({
    name: 'realtime_waiting_room_abandoned_total',
    help: 'Users skipped and removed at their turn by this instance (no socket for QUEUE_ABANDON_SECONDS)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
