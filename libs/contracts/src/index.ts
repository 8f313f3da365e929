export * from './catalog.js';
export * from './socket-events.js';
export * from './socket-payloads.js';
export * from './rmq-payloads.js';
export * from './waiting-room.js';
