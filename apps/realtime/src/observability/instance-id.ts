import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** DI token for this process's instance id (`/stats`). */
export const INSTANCE_ID = Symbol('INSTANCE_ID');

/** `<host>-<pid>-<random>`: readable for operators, unique even for containers that all run as pid 1. */
export function createInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}
