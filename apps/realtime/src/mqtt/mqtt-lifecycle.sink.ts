import type { LifecycleEntry, LifecycleSink } from '../lifecycle/lifecycle-sink.js';
import type { MqttLink } from './mqtt-link.js';
import { TOPICS, bookingId, type BookingConfirmation } from './mqtt-topics.js';

/**
 * The MQTT lifecycle sink: of the lock lifecycle events the outbox records, `confirmed` becomes
 * `booking/confirm/{orderId or lockId}` `{ booking_id, lock_id, status: "confirmed", … }` (QoS 1,
 * not retained). The outbox keeps an entry until the broker acknowledged it, so a confirmation made
 * during a broker outage, or by an instance that crashed right after, is published when the broker
 * is back (at least once). Other transitions have no MQTT topic and are passed over.
 */
export class MqttLifecycleSink implements LifecycleSink {
  /** The sink's cursor and lease name in the outbox. */
  static readonly NAME = 'mqtt';
  readonly name = MqttLifecycleSink.NAME;

  constructor(private readonly link: MqttLink) {}

  async publish(batch: readonly LifecycleEntry[]): Promise<void> {
    // All in flight at once on the one connection, which keeps their order.
    const sent: Array<Promise<void>> = [];
    for (const entry of batch) {
      if (entry.event !== 'confirmed') continue;
      const lock = entry.lock;
      const at = Number(entry.id.split('-')[0]);
      const message: BookingConfirmation = {
        booking_id: bookingId(lock.lockId, lock.orderId),
        lock_id: lock.lockId,
        status: 'confirmed',
        message: 'Booking confirmed successfully',
        timestamp: new Date(Number.isFinite(at) ? at : Date.now()).toISOString(),
      };
      sent.push(this.link.publishAcked(TOPICS.bookingConfirm(message.booking_id), message));
    }
    await Promise.all(sent);
  }

  connected(): boolean {
    return this.link.connected;
  }
}
