// Artillery processor for the load scenarios (CommonJS: artillery loads processors with require).
// The socket is the one artillery's Socket.IO engine opened for the virtual user: context.sockets[''].
/* global require, module, process, setTimeout, clearTimeout, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const { randomUUID } = require('node:crypto');

function socketOf(context) {
  return context.sockets && context.sockets[''];
}

/** Emits with an acknowledgement; resolves with the ack payload and its latency in ms. */
function request(socket, event, data, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      resolve({ answer: { success: false, code: 'ACK_TIMEOUT' }, ms: timeoutMs });
    }, timeoutMs);
    socket.emit(event, data, (answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ answer, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
  });
}

/** An artillery function step `(context, events, next)` running an async function: next() once it settles. */
function step(fn) {
  return (context, events, next) => {
    fn(context, events).then(() => next(), next);
  };
}

// ---- browsing crowd ----

function countUpdates(context, events, next) {
  const socket = socketOf(context);
  context.vars.updates = 0;
  if (socket) {
    socket.on('availability-update', () => {
      context.vars.updates++;
      events.emit('counter', 'browse.updates_received', 1);
    });
  }
  next();
}

function reportUpdates(context, events, next) {
  events.emit('histogram', 'browse.updates_per_viewer', context.vars.updates || 0);
  next();
}

async function lockAndReleaseAsync(context, events) {
  const socket = socketOf(context);
  if (!socket) return;
  const categoryId = Math.random() < 0.5 ? 'ack' : 'orders';
  const lock = await request(socket, 'lock-tickets', { eventId: context.vars.eventId, categoryId, quantity: 1 });
  events.emit('histogram', 'browse.lock_ack_ms', lock.ms);
  if (!lock.answer || !lock.answer.success) {
    events.emit('counter', `browse.lock_refused.${(lock.answer && lock.answer.code) || 'UNKNOWN'}`, 1);
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
  const unlock = await request(socket, 'unlock-tickets', { lockId: lock.answer.lockId });
  events.emit('histogram', 'browse.unlock_ack_ms', unlock.ms);
}

const lockAndRelease = step(lockAndReleaseAsync);

// ---- flash sale ----

async function raceForDropAsync(context, events) {
  const socket = socketOf(context);
  if (!socket) throw new Error('no socket');
  const quantity = Math.random() < 0.7 ? 1 : 2;
  const { answer, ms } = await request(socket, 'lock-tickets', {
    eventId: context.vars.eventId,
    categoryId: 'drop',
    quantity,
    requestId: randomUUID(),
  });
  events.emit('histogram', 'flash.lock_ack_ms', ms);
  if (answer && answer.success) {
    context.vars.lockId = answer.lockId;
    context.vars.quantity = answer.quantity;
    events.emit('counter', 'flash.granted', 1);
    events.emit('counter', 'flash.tickets_granted', answer.quantity);
  } else {
    events.emit('counter', `flash.refused.${(answer && answer.code) || 'UNKNOWN'}`, 1);
  }
}

const raceForDrop = step(raceForDropAsync);

/** One winner in four changes their mind and gives the tickets back (they go to the next buyers). */
async function maybeGiveBackAsync(context, events) {
  const socket = socketOf(context);
  if (!socket || !context.vars.lockId || Math.random() >= 0.25) return;
  const { answer, ms } = await request(socket, 'unlock-tickets', { lockId: context.vars.lockId });
  events.emit('histogram', 'flash.unlock_ack_ms', ms);
  if (answer && answer.success) events.emit('counter', 'flash.tickets_released', answer.releasedQuantity);
  else events.emit('counter', `flash.unlock_failed.${(answer && answer.code) || 'UNKNOWN'}`, 1);
}

const maybeGiveBack = step(maybeGiveBackAsync);

// ---- flash sale behind a waiting room (CONTRACT §7) ----

/** Resolves with the first queue-admitted for the event, or null after timeoutMs. */
function admittedWithin(socket, eventId, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('queue-admitted', listener);
      resolve(null);
    }, timeoutMs);
    function listener(payload) {
      if (String(payload.eventId) !== String(eventId)) return;
      clearTimeout(timer);
      socket.off('queue-admitted', listener);
      resolve(payload);
    }
    socket.on('queue-admitted', listener);
  });
}

async function queueAndHoldAsync(context, events) {
  const socket = socketOf(context);
  if (!socket) throw new Error('no socket');
  const eventId = context.vars.queueEventId;
  const started = Date.now();
  // Listening before joining: the admission may come within the same second.
  const admitted = admittedWithin(socket, eventId, Number(process.env.LOAD_QUEUE_MAX_WAIT_MS || 120_000));
  const joined = await request(socket, 'join-queue', { eventId });
  if (!joined.answer || !joined.answer.success) {
    events.emit('counter', `queue.join_refused.${(joined.answer && joined.answer.code) || 'UNKNOWN'}`, 1);
    return;
  }
  events.emit('counter', 'queue.joined', 1);
  events.emit('histogram', 'queue.join_ack_ms', joined.ms);
  if (joined.answer.state !== 'admitted') {
    // The gate: before the turn, a hold must be refused (checked in the same atomic step as the hold).
    const early = await request(socket, 'lock-tickets', { eventId, categoryId: 'drop', quantity: 1 });
    if (early.answer && early.answer.success) events.emit('counter', 'queue.gate_breach', 1);
    else if (early.answer && early.answer.code === 'ADMISSION_REQUIRED') events.emit('counter', 'queue.gate_refused', 1);
    // Admitted between the join and this hold: it was allowed; give it back so the counts stay simple.
    if (early.answer && early.answer.success) await request(socket, 'unlock-tickets', { lockId: early.answer.lockId });
    const turn = await admitted;
    if (!turn) {
      events.emit('counter', 'queue.not_admitted', 1);
      await request(socket, 'leave-queue', { eventId });
      return;
    }
  }
  events.emit('counter', 'queue.admitted', 1);
  events.emit('histogram', 'queue.wait_ms', Date.now() - started);
  const quantity = Math.random() < 0.7 ? 1 : 2;
  const lock = await request(socket, 'lock-tickets', { eventId, categoryId: 'drop', quantity, requestId: randomUUID() });
  events.emit('histogram', 'flash.lock_ack_ms', lock.ms);
  if (lock.answer && lock.answer.success) {
    events.emit('counter', 'flash.granted', 1);
    events.emit('counter', 'flash.tickets_granted', lock.answer.quantity);
  } else {
    events.emit('counter', `flash.refused.${(lock.answer && lock.answer.code) || 'UNKNOWN'}`, 1);
  }
  await request(socket, 'leave-queue', { eventId });
}

const queueAndHold = step(queueAndHoldAsync);

// ---- Orders stream over RabbitMQ ----

let rabbit; // one connection per artillery worker: { channel, replyQueue, pending, ready }

function rabbitSession(events) {
  if (rabbit) return rabbit.ready;
  const url = process.env.LOAD_RABBITMQ_URL;
  if (!url) return Promise.reject(new Error('LOAD_RABBITMQ_URL is not set'));
  // amqplib from the project's own node_modules (this file lives in the project).
  const amqp = require('amqplib');
  rabbit = { pending: new Map() };
  rabbit.ready = (async () => {
    const connection = await amqp.connect(url);
    // Never keep an artillery worker alive for this connection.
    if (connection.connection && connection.connection.stream) connection.connection.stream.unref();
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.consume(queue, (message) => {
      if (!message) return;
      const waiter = rabbit.pending.get(message.properties.correlationId);
      if (waiter) {
        rabbit.pending.delete(message.properties.correlationId);
        waiter(JSON.parse(message.content.toString('utf8')));
      }
    }, { noAck: true });
    // The lifecycle events Orders would consume: count them by routing key.
    const exchange = process.env.LOAD_LOCK_EVENTS_EXCHANGE || 'ticket_locks';
    const { queue: lifecycle } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.bindQueue(lifecycle, exchange, 'ticket-lock.*');
    await channel.consume(lifecycle, (message) => {
      if (message) events.emit('counter', `orders.lifecycle_events.${message.fields.routingKey}`, 1);
    }, { noAck: true });
    rabbit.channel = channel;
    rabbit.replyQueue = queue;
  })();
  return rabbit.ready;
}

async function confirmOverRabbitAsync(context, events) {
  await rabbitSession(events);
  const lockId = context.vars.lockId;
  if (!lockId) return;
  const id = randomUUID();
  const orderId = `order-${randomUUID()}`;
  const started = process.hrtime.bigint();
  const reply = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      rabbit.pending.delete(id);
      resolve({ response: { success: false, code: 'RPC_TIMEOUT' } });
    }, 10_000);
    rabbit.pending.set(id, (packet) => {
      clearTimeout(timer);
      resolve(packet);
    });
    const body = { pattern: 'confirm-ticket-lock', data: { lockId, orderId }, id };
    rabbit.channel.sendToQueue(process.env.LOAD_REALTIME_QUEUE || 'realtime_queue', Buffer.from(JSON.stringify(body)), {
      replyTo: rabbit.replyQueue,
      correlationId: id,
      contentType: 'application/json',
      persistent: true,
    });
  });
  events.emit('histogram', 'orders.confirm_ms', Number(process.hrtime.bigint() - started) / 1e6);
  const response = reply && reply.response;
  if (response && response.success) events.emit('counter', 'orders.confirmed', 1);
  else events.emit('counter', `orders.failed.${(response && response.code) || (reply && reply.err ? 'ERROR' : 'UNKNOWN')}`, 1);
}

const confirmOverRabbit = step(confirmOverRabbitAsync);

module.exports = {
  countUpdates,
  reportUpdates,
  lockAndRelease,
  raceForDrop,
  maybeGiveBack,
  queueAndHold,
  confirmOverRabbit,
};
