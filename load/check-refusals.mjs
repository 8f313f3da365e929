/* global process, console */
// Fails a load run whose requests were refused or went unanswered (load/run.sh runs it after every
// scenario): throughput is what succeeded, so refusals are printed apart and any unexpected one — or a
// failed virtual user, or an artillery error — makes the run fail. The flash sales' (flash-sale,
// flash-sale-queue) INSUFFICIENT_TICKETS refusals are their expected outcome (more buyers than
// tickets) and only reported; so is the waiting room's gate (queue.gate_refused, ADMISSION_REQUIRED
// before the turn, checked by load/check-waiting-room.mjs).
//   node load/check-refusals.mjs <scenario> <artillery-report.json>
import { readFileSync } from 'node:fs';

const [scenario, reportFile] = process.argv.slice(2);
if (!scenario || !reportFile) {
  console.error('usage: node load/check-refusals.mjs <scenario> <artillery-report.json>');
  process.exit(2);
}
const counters = JSON.parse(readFileSync(reportFile, 'utf8')).aggregate?.counters ?? {};
const EXPECTED = scenario === 'flash-sale' || scenario === 'flash-sale-queue' ? /^flash\.refused\.INSUFFICIENT_TICKETS$/ : /^$/;
const refusal = /\.(refused|lock_refused|unlock_refused|unlock_failed|join_refused|failed)\.|^errors\./;
const problems = [];
const expected = [];
for (const [name, value] of Object.entries(counters)) {
  if (!refusal.test(name) || !value) continue;
  (EXPECTED.test(name) ? expected : problems).push(`${name} ${value}`);
}
if (counters['vusers.failed']) problems.push(`vusers.failed ${counters['vusers.failed']}`);
const succeeded = Object.entries(counters)
  .filter(([name]) => /\.(pairs|granted|confirmed)$/.test(name))
  .map(([name, value]) => `${name} ${value}`);
console.log(`${scenario}: succeeded ${succeeded.join(', ') || '(no success counter)'}`);
if (expected.length > 0) console.log(`${scenario}: expected refusals (not throughput): ${expected.join(', ')}`);
if (problems.length > 0) {
  console.log(`${scenario}: FAILED — refused, unanswered or failed: ${problems.join(', ')}`);
  process.exit(1);
}
console.log(`${scenario}: no unexpected refusal`);
