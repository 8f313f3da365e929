import { z } from 'zod';
import { WAITING_ROOM_LIMITS, type WaitingRoomSettings } from '#lock-domain';
import { catalogIdSchema as catalogId, checkWith, fieldError as required, isPlainObject, type PayloadCheck } from './schema-parts.js';

/**
 * The waiting room's file and RabbitMQ formats (CONTRACT §7): one settings schema shared by the
 * catalog file (`"waitingRoom"` on an event) and `configure-waiting-room`, and the RabbitMQ patterns.
 */

/** Default `admissionMinutes`. */
export const DEFAULT_ADMISSION_MINUTES = 10;

const ADMIT_RULE = `must be a number above 0 and at most ${WAITING_ROOM_LIMITS.maxAdmitPerMinute}`;
const MAX_ACTIVE_RULE = `must be an integer from 1 to ${WAITING_ROOM_LIMITS.maxActiveUsers}`;
const MINUTES_RULE = `must be a number of minutes above 0 and at most ${WAITING_ROOM_LIMITS.maxAdmissionMs / 60_000}`;
const START_RULE = 'must be an ISO 8601 date-time or epoch milliseconds';

const admitPerMinute = z.number({ error: required(ADMIT_RULE) }).positive(ADMIT_RULE).max(WAITING_ROOM_LIMITS.maxAdmitPerMinute, ADMIT_RULE);
const maxActiveUsers = z.int({ error: required(MAX_ACTIVE_RULE) }).min(1, MAX_ACTIVE_RULE).max(WAITING_ROOM_LIMITS.maxActiveUsers, MAX_ACTIVE_RULE);
// Decimals allowed, like every minute value (tests use short admissions).
const admissionMinutes = z
  .number({ error: required(MINUTES_RULE) })
  .positive(MINUTES_RULE)
  .max(WAITING_ROOM_LIMITS.maxAdmissionMs / 60_000, MINUTES_RULE)
  .refine((m) => Math.round(m * 60_000) >= 1, MINUTES_RULE);
const salesStartAt = z
  .union([z.string({ error: START_RULE }), z.int({ error: START_RULE }).min(0, START_RULE)], { error: START_RULE })
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : Date.parse(value);
    // Date.parse accepts more than ISO; require a date-time with a time zone so every instance reads one instant.
    if (!Number.isSafeInteger(ms) || (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:?\d{2})$/.test(value))) {
      ctx.addIssue({ code: 'custom', message: START_RULE });
      return z.NEVER;
    }
    return ms;
  });

const settingsShape = { admitPerMinute, maxActiveUsers, admissionMinutes: admissionMinutes.optional(), salesStartAt: salesStartAt.optional() };

function toSettings(input: { admitPerMinute: number; maxActiveUsers: number; admissionMinutes?: number | undefined; salesStartAt?: number | undefined }): WaitingRoomSettings {
  return {
    admitPerMinute: input.admitPerMinute,
    maxActiveUsers: input.maxActiveUsers,
    admissionMs: Math.round((input.admissionMinutes ?? DEFAULT_ADMISSION_MINUTES) * 60_000),
    ...(input.salesStartAt === undefined ? {} : { salesStartAt: input.salesStartAt }),
  };
}

/** `"waitingRoom": { admitPerMinute, maxActiveUsers, admissionMinutes?, salesStartAt? }` on a catalog event. */
export const catalogWaitingRoomSchema = z
  .object(settingsShape, { error: 'expected an object { admitPerMinute, maxActiveUsers, admissionMinutes?, salesStartAt? }' })
  .transform(toSettings);

/** Patterns of the waiting room consumed on `REALTIME_QUEUE`. */
export const WAITING_ROOM_RMQ_PATTERNS = {
  configure: 'configure-waiting-room',
  getAdmission: 'get-admission',
} as const;

export type WaitingRoomRmqPattern = (typeof WAITING_ROOM_RMQ_PATTERNS)[keyof typeof WAITING_ROOM_RMQ_PATTERNS];

const USER_ID_RULE = 'must be a string of 1-128 characters or an integer';
const userId = z.union([z.string({ error: USER_ID_RULE }).min(1, USER_ID_RULE).max(128, USER_ID_RULE), z.int({ error: USER_ID_RULE }).transform(String)], {
  error: required(USER_ID_RULE),
});

const ENABLED_RULE = 'must be true or false';

/**
 * `configure-waiting-room`: `{ eventId, enabled: true, admitPerMinute, maxActiveUsers, admissionMinutes?, salesStartAt? }`
 * switches the room on (or changes it); `{ eventId, enabled: false }` switches it off. Unknown fields are ignored.
 */
const configureOn = z.object({ eventId: catalogId, enabled: z.literal(true), ...settingsShape });
const configureOff = z.object({ eventId: catalogId, enabled: z.literal(false) });
const configureSchema = z
  .custom<Record<string, unknown>>(isPlainObject, { error: 'data must be an object { eventId, enabled, admitPerMinute, maxActiveUsers, admissionMinutes?, salesStartAt? }' })
  .transform((value, ctx): { eventId: string | number; settings: WaitingRoomSettings | null } => {
    // The form is chosen by `enabled`, so a mistake is reported against the form the sender meant.
    if (typeof value.enabled !== 'boolean') {
      ctx.addIssue({ code: 'custom', path: ['enabled'], message: value.enabled === undefined ? 'is required' : ENABLED_RULE });
      return z.NEVER;
    }
    const parsed = value.enabled ? configureOn.safeParse(value) : configureOff.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    const { eventId, enabled: _enabled, ...rest } = parsed.data as z.output<typeof configureOn>;
    return { eventId, settings: value.enabled ? toSettings(rest) : null };
  });

const getAdmissionSchema = z
  .custom<Record<string, unknown>>(isPlainObject, { error: 'data must be an object { eventId, userId }' })
  .pipe(z.object({ eventId: catalogId, userId }));

export type ConfigureWaitingRoomMessage = z.output<typeof configureSchema>;
export type GetAdmissionMessage = z.output<typeof getAdmissionSchema>;

/** Reply to `get-admission`. */
export type GetAdmissionReply =
  | { admitted: boolean; admissionExpiresAt?: string }
  | { success: false; code: string; message: string };

export function checkConfigureWaitingRoom(data: unknown): PayloadCheck<ConfigureWaitingRoomMessage> {
  return checkWith<ConfigureWaitingRoomMessage>(configureSchema, data, 'Invalid data');
}

export function checkGetAdmission(data: unknown): PayloadCheck<GetAdmissionMessage> {
  return checkWith<GetAdmissionMessage>(getAdmissionSchema, data, 'Invalid data');
}
