import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '#config';
import { ExpiryTimer } from './expiry-timer.js';
import { LockService } from './lock.service.js';
import { errorMessage } from '../common/error-message.js';

/**
 * Records due expiries every `CLEANUP_INTERVAL_MINUTES` (and when a lock this instance granted is
 * due). Every instance sweeps; the store hands each expired lock to exactly one sweeper, whose
 * transitions then reach owners and rooms through the changes bus.
 */
@Injectable()
export class SweepService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SweepService.name);
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
    private readonly scheduler: SchedulerRegistry,
    private readonly expiry: ExpiryTimer,
  ) {}

  onApplicationBootstrap(): void {
    const interval = setInterval(() => void this.trigger(), this.config.cleanupIntervalMs);
    this.scheduler.addInterval('lock-sweep', interval);
    this.expiry.setHandler(() => void this.trigger());
  }

  /** Runs a sweep now, or right after the one in progress (never two at once per instance). */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.trigger();
      }
    });
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      const expired = await this.locks.sweep();
      if (expired > 0) this.logger.debug(`sweep recorded ${expired} expired lock(s)`);
    } catch (error) {
      // The next tick retries; a store outage is reported by /ready, not by crashing the sweep.
      this.logger.warn(`sweep failed: ${errorMessage(error)}`);
    }
  }
}
