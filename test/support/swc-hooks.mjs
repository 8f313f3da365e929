// Node module hooks that run the service's TypeScript sources directly in a child process, compiled
// by SWC with the same settings as the test runner (unplugin-swc reading tsconfig.json): legacy
// decorators and emitDecoratorMetadata (Nest's dependency injection needs the metadata, which tsx
// and Node's own type stripping do not emit). Register with `--import` (see child-service.ts) and
// run with `--conditions=source` so `#config` & co. resolve to their .ts sources, as in vitest.
// Nothing is written to dist/: the child runs exactly the sources under test.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from '@swc/core';

const SWC_OPTIONS = {
  sourceMaps: 'inline',
  module: { type: 'es6' },
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    target: 'es2022',
    keepClassNames: true,
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
  },
};

const isOwnSource = (url) => url.startsWith('file:') && !url.includes('/node_modules/');

/** `./x.js` imported from a .ts file is `./x.ts` on disk (TypeScript's NodeNext convention). */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromSource = context.parentURL && isOwnSource(context.parentURL) && context.parentURL.endsWith('.ts');
    if (fromSource && error?.code === 'ERR_MODULE_NOT_FOUND' && /^\.{1,2}\/.*\.js$/.test(specifier)) {
      return nextResolve(specifier.replace(/\.js$/, '.ts'), context);
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!isOwnSource(url) || !url.endsWith('.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = await transform(await readFile(filename, 'utf8'), { ...SWC_OPTIONS, filename });
  return { format: 'module', source: code, shortCircuit: true };
}
