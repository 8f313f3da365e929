/* global process, console, fetch */
// After a flash-sale-queue run: the waiting room kept its promises. Exits 1 when it did not.
//   node load/check-waiting-room.mjs <target> <eventId> <admitPerMinute> <runSeconds> <artillery-report.json>
// - nobody held before their admission (queue.gate_breach = 0; the gate was exercised: queue.gate_refused > 0);
// - the pace: admitted since the room opened ≤ admitPerMinute × runSeconds / 60 + 1.5 (the one-second bucket);
// - /stats agrees with what the users were told (admittedTotal ≥ queue.admitted).
import { readFileSync } from 'node:fs';

const [target, eventId, perMinute, seconds, reportFile] = process.argv.slice(2);
if (!target || !eventId || !perMinute || !seconds || !reportFile) {
  console.error('usage: node load/check-waiting-room.mjs <target> <eventId> <admitPerMinute> <runSeconds> <artillery-report.json>');
  process.exit(2);
}
const stats = await (await fetch(`${target}/stats`)).json();
const room = (stats.waitingRooms ?? []).find((r) => String(r.eventId) === String(eventId));
if (!room) {
  console.error(`no waiting room for ${eventId} in /stats: ${JSON.stringify(stats.waitingRooms)}`);
  process.exit(1);
}
const counters = JSON.parse(readFileSync(reportFile, 'utf8')).aggregate?.counters ?? {};
const breach = counters['queue.gate_breach'] ?? 0;
const refused = counters['queue.gate_refused'] ?? 0;
const admitted = counters['queue.admitted'] ?? 0;
const bound = Math.floor((Number(perMinute) * Number(seconds)) / 60 + 1.5);
const checks = [
  [`no hold before admission (gate breaches ${breach}, refusals ADMISSION_REQUIRED ${refused})`, breach === 0],
  [`pace: admitted in total ${room.admittedTotal} ≤ ${perMinute}/min × ${seconds} s + 1.5 = ${bound}`, room.admittedTotal <= bound],
  [`/stats admittedTotal ${room.admittedTotal} ≥ admissions the users saw ${admitted}`, room.admittedTotal >= admitted],
];
console.log(`waiting room ${eventId}: joined ${counters['queue.joined'] ?? 0}, admitted ${admitted}, still waiting ${room.queueLength}, active ${room.activeUsers}`);
let failed = false;
for (const [text, ok] of checks) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${text}`);
  if (!ok) failed = true;
}
console.log(failed ? 'WAITING ROOM CHECK FAILED' : 'waiting room kept its pace and gate');
process.exit(failed ? 1 : 0);
