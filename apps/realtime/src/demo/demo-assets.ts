import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the demo page may load: where it is on disk and how it is sent. */
export interface DemoAsset {
  path: string;
  contentType: string;
}

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const SVG = 'image/svg+xml';

/** The files of `apps/realtime/public/` that are served, by URL name (anything else is a 404). */
const PAGE_FILES: Record<string, string> = {
  'demo.js': JS,
  'seat-map.js': JS,
  'demo.css': CSS,
  'favicon.svg': SVG,
};

/** socket.io-client's browser build (ES module), served from node_modules so the page needs no CDN. */
const CLIENT_FILES: Record<string, string> = {
  'socket.io.esm.min.js': JS,
  'socket.io.esm.min.js.map': JSON_TYPE,
};

/**
 * The demo page's files. Served from a fixed allow-list of names, never from a path taken from the
 * request, so no URL can reach another file (no directory traversal by construction).
 *
 * The page lives in `apps/realtime/public/` (plain HTML, CSS and an ES module: no build step). It is
 * found next to the sources (`apps/realtime/src/demo` → `../../public`) and from the compiled output
 * (`dist/apps/realtime/src/demo` → the repository's `apps/realtime/public`).
 */
export class DemoAssets {
  private readonly assets = new Map<string, DemoAsset>();
  private readonly page: DemoAsset | undefined;
  readonly publicDir: string | undefined;

  constructor(moduleDir: string = dirname(fileURLToPath(import.meta.url)), cwd: string = process.cwd()) {
    this.publicDir = [resolve(moduleDir, '../../public'), resolve(moduleDir, '../../../../../apps/realtime/public'), resolve(cwd, 'apps/realtime/public')].find(
      (dir) => existsSync(join(dir, 'index.html')),
    );
    if (this.publicDir !== undefined) {
      this.page = { path: join(this.publicDir, 'index.html'), contentType: HTML };
      for (const [name, contentType] of Object.entries(PAGE_FILES)) this.assets.set(name, { path: join(this.publicDir, name), contentType });
    }
    const clientDir = socketIoClientDist();
    if (clientDir !== undefined) {
      for (const [name, contentType] of Object.entries(CLIENT_FILES)) this.assets.set(name, { path: join(clientDir, name), contentType });
    }
  }

  /** The page itself (`index.html`), with its bytes; `undefined` when it is not there. */
  readPage(): Promise<LoadedAsset | undefined> {
    return load(this.page);
  }

  /** The asset called `name`, with its bytes; `undefined` when the name is not on the list or the file is missing. */
  read(name: string): Promise<LoadedAsset | undefined> {
    return load(this.assets.get(name));
  }
}

export type LoadedAsset = DemoAsset & { body: Buffer };

async function load(asset: DemoAsset | undefined): Promise<LoadedAsset | undefined> {
  if (asset === undefined) return undefined;
  try {
    return { ...asset, body: await readFile(asset.path) };
  } catch {
    return undefined;
  }
}

/** `node_modules/socket.io-client/dist`, or `undefined` when the package is not installed (a production-only install). */
function socketIoClientDist(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('socket.io-client/package.json');
    return join(dirname(manifest), 'dist');
  } catch {
    return undefined;
  }
}
