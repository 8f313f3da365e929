/* global process, console, fetch */
// After a flash-sale run: proves no oversell, from the service's own counts and from what the
// virtual users were granted (artillery's counters). Exits 1 on oversell or on inconsistent counts.
// "Held by buyers ≤ capacity" assumes nothing is released behind the buyers' backs during the run:
// load/run.sh starts its local service with a disconnect grace (LOAD_DISCONNECT_GRACE_SECONDS, 3600)
// and a lock duration (5 min) longer than the run; a remote target must be set up the same way.
//   node load/check-oversell.mjs <target> <eventId> <categoryId> <artillery-report.json>
import { readFileSync } from 'node:fs';

const [target, eventId, categoryId, reportFile] = process.argv.slice(2);
if (!target || !eventId || !categoryId || !reportFile) {
  console.error('usage: node load/check-oversell.mjs <target> <eventId> <categoryId> <artillery-report.json>');
  process.exit(2);
}

const response = await fetch(`${target}/events/${encodeURIComponent(eventId)}/availability`);
if (!response.ok) {
  console.error(`GET /events/${eventId}/availability answered ${response.status}`);
  process.exit(1);
}
const list = await response.json();
const category = list.find((a) => String(a.categoryId) === String(categoryId));
if (!category) {
  console.error(`category ${categoryId} not found in ${JSON.stringify(list)}`);
  process.exit(1);
}
const counters = JSON.parse(readFileSync(reportFile, 'utf8')).aggregate?.counters ?? {};
const granted = counters['flash.tickets_granted'] ?? 0;
const released = counters['flash.tickets_released'] ?? 0;
const holds = counters['flash.granted'] ?? 0;
const refused = Object.entries(counters)
  .filter(([name]) => name.startsWith('flash.refused.'))
  .map(([name, n]) => `${name.slice('flash.refused.'.length)} ${n}`)
  .join(', ');
const { totalTickets: total, availableTickets: available, lockedTickets: locked, soldTickets: sold } = category;
const held = granted - released;

const checks = [
  [`tickets held by buyers (granted ${granted} − given back ${released} = ${held}) ≤ capacity ${total}`, held <= total, true],
  [`service: locked ${locked} + sold ${sold} ≤ total ${total}`, locked + sold <= total, true],
  [`service: available ${available} = total − sold − locked, never negative`, available >= 0 && available === total - sold - locked, true],
  // Holds last LOCK_DURATION_MINUTES (5 by default), longer than the run: on a service nobody else uses,
  // what the buyers hold is what the service counts. Informational: a shared target differs.
  [`what buyers hold (${held}) = what the service counts as locked + sold (${locked + sold})`, held === locked + sold, false],
];
console.log(`flash sale on ${eventId}/${categoryId}: ${holds} holds granted, refused: ${refused || 'none'}`);
let failed = false;
for (const [text, ok, hard] of checks) {
  console.log(`  ${ok ? 'ok  ' : hard ? 'FAIL' : 'note'} ${text}`);
  if (!ok && hard) failed = true;
}
console.log(failed ? 'OVERSELL CHECK FAILED' : 'no oversell');
process.exit(failed ? 1 : 0);
