import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoAssets } from './demo-assets.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');

describe('DemoAssets', () => {
  let elsewhere: string;
  beforeAll(async () => {
    elsewhere = await mkdtemp(join(tmpdir(), 'demo-assets-'));
  });
  afterAll(() => rm(elsewhere, { recursive: true, force: true }));

  it('finds the page next to the sources and from the compiled output in dist/', async () => {
    for (const moduleDir of [here, join(repo, 'dist/apps/realtime/src/demo')]) {
      const assets = new DemoAssets(moduleDir, elsewhere);
      expect(assets.publicDir).toBe(join(repo, 'apps/realtime/public'));
      const page = await assets.readPage();
      expect(page?.contentType).toBe('text/html; charset=utf-8');
      expect(page?.body.toString()).toContain('data-testid="connection-status"');
    }
  });

  it('serves only the listed names, with their content types', async () => {
    const assets = new DemoAssets(here, elsewhere);
    expect((await assets.read('demo.js'))?.contentType).toBe('text/javascript; charset=utf-8');
    expect((await assets.read('demo.css'))?.contentType).toBe('text/css; charset=utf-8');
    expect((await assets.read('favicon.svg'))?.contentType).toBe('image/svg+xml');
    expect((await assets.read('socket.io.esm.min.js'))?.body.length).toBeGreaterThan(10_000);
    for (const name of ['index.html', '../public/demo.js', '../../package.json', '/etc/passwd', 'socket.io.js', '__proto__', 'constructor', '']) {
      expect(await assets.read(name), name).toBeUndefined();
    }
  });

  it('has no page when the files are not there (e.g. an image without apps/)', async () => {
    const assets = new DemoAssets(join(elsewhere, 'a/b/c/d/e'), elsewhere);
    expect(assets.publicDir).toBeUndefined();
    expect(await assets.readPage()).toBeUndefined();
    expect(await assets.read('demo.js')).toBeUndefined();
  });
});
