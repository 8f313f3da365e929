export * from './availability.js';
export * from './errors.js';
export * from './ids.js';
export * from './lock.js';
export * from './lock-store.js';
export * from './waiting-room.js';
export * from './seats.js';
