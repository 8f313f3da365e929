import type { AddressInfo, Server } from 'node:net';
import { Controller, type INestMicroservice, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';

/** A TicketCategory row of the original events-service (its entity's columns). */
export interface TicketCategoryRow {
  id: number;
  eventId: number;
  categoryName: string;
  price: number;
  totalSeats: number;
  reservedSeats: number;
  description?: string;
  isActive?: boolean;
}

const SILENT: LoggerService = { log: () => undefined, error: () => undefined, warn: () => undefined };

/** How the original's exception filter puts a NotFoundException/BadRequestException on the wire. */
const rpcError = (statusCode: number, message: string) =>
  new RpcException({ statusCode, message, error: statusCode === 404 ? 'Not Found' : 'Bad Request' });

/**
 * A stand-in for the original platform's events-service, written for these tests: a Nest TCP
 * microservice that answers `get-ticket-categories` (bare event id → TicketCategory entities with
 * `availableSeats`, or an RPC error `{ statusCode: 404 }` for an unknown event) and keeps the sales
 * ledger with `reserve-tickets` / `release-tickets`, as the original's orders-service calls them.
 */
export class OriginalEventsService {
  private constructor(
    private readonly app: INestMicroservice,
    readonly port: number,
    /** Every `get-ticket-categories` data, in order. */
    readonly asked: unknown[],
    /** Its table, to change behind the service's back (an admin resizing a category). */
    readonly rows: TicketCategoryRow[],
  ) {}

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  static async start(rows: TicketCategoryRow[], port = 0): Promise<OriginalEventsService> {
    const asked: unknown[] = [];
    const ledger = rows.map((row) => ({ description: '', isActive: true, ...row }));
    const eventIds = new Set(ledger.map((row) => row.eventId));

    @Controller()
    class EventsController {
      @MessagePattern('get-ticket-categories')
      getTicketCategories(@Payload() eventId: number) {
        asked.push(eventId);
        if (!eventIds.has(eventId)) throw rpcError(404, `Event with ID ${eventId} not found`);
        return ledger
          .filter((row) => row.eventId === eventId && row.isActive)
          .map((row) => ({ ...row, price: row.price.toFixed(2), availableSeats: row.totalSeats - row.reservedSeats }));
      }

      @MessagePattern('reserve-tickets')
      reserveTickets(@Payload() data: { eventId: number; categoryId: number; quantity: number }) {
        const row = ledger.find((r) => r.id === data.categoryId && r.eventId === data.eventId);
        if (!row) throw rpcError(404, `Ticket category with ID ${data.categoryId} not found for this event`);
        if (row.totalSeats - row.reservedSeats < data.quantity) throw rpcError(400, 'Not enough seats available');
        row.reservedSeats += data.quantity;
        return true;
      }

      @MessagePattern('release-tickets')
      releaseTickets(@Payload() data: { categoryId: number; quantity: number }) {
        const row = ledger.find((r) => r.id === data.categoryId);
        if (!row) throw rpcError(404, `Ticket category with ID ${data.categoryId} not found`);
        row.reservedSeats = Math.max(0, row.reservedSeats - data.quantity);
        return true;
      }
    }

    @Module({ controllers: [EventsController] })
    class EventsModule {}

    const app = await NestFactory.createMicroservice(EventsModule, {
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: SILENT,
    });
    await app.listen();
    const address = app.unwrap<Server>().address() as AddressInfo;
    return new OriginalEventsService(app, address.port, asked, ledger);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
