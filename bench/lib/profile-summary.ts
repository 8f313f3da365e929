/**
 * Summarises a V8 .cpuprofile (from --cpu-prof or the bench's `--profile`): self time by function and
 * by package, so a hot spot can be named without opening a flame graph viewer.
 *
 *   npx tsx bench/lib/profile-summary.ts bench/results/profiles/<file>.cpuprofile [top]
 *
 * (For a flame graph: load the same file in Chrome DevTools → Performance, or speedscope.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: Array<{ name: string; where: string; selfMs: number; share: number }>;
  packages: Array<{ name: string; selfMs: number; share: number }>;
}

function packageOf(url: string): string {
  if (url === '') return '(native / V8)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1] ?? url;
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/dist/')) return `app: ${url.slice(url.indexOf('/dist/') + 6).split('/').slice(0, 4).join('/')}`;
  return url;
}

export function summarise(profile: CpuProfile, top = 15): ProfileSummary {
  // Self time per node from samples and their time deltas (µs).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') idle += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const pkg = functionName === '(idle)' ? '(idle)' : functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    functions: [...byFunction.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: f.us / busy })),
    packages: [...byPackage.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / busy })),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const lines = [
    `busy ${(summary.totalMs - summary.idleMs).toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled (idle ${summary.idleMs.toFixed(0)} ms)`,
    'self time by package / area:',
    ...summary.packages.map((p) => `  ${(p.share * 100).toFixed(1).padStart(5)}%  ${p.selfMs.toFixed(0).padStart(6)} ms  ${p.name}`),
    'self time by function:',
    ...summary.functions.map((f) => `  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(formatSummary(summarise(profile, Number(process.argv[3] ?? 25))));
}
