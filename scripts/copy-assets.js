// The second half of `npm run build`: tsc emits JavaScript only, so every other file under src/
// that the server reads at run time (the dashboard's HTML, JS and CSS, read beside
// dashboard.router.js) is copied into dist/ at the same relative path. Every non-TypeScript file
// is taken, not a list of names: an asset added later cannot be forgotten here.
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import process from 'node:process';

const SOURCE = 'src';
// tsconfig.build.json's outDir.
const OUT = 'dist';
/** TypeScript sources and declarations (.ts, .mts, .cts, .d.ts): tsc's business. */
const TYPESCRIPT = /\.[cm]?ts$/;

let copied = 0;
for (const entry of readdirSync(SOURCE, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || TYPESCRIPT.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(OUT, relative(SOURCE, from)));
  copied += 1;
}
process.stdout.write(`copy-assets: ${copied} file(s) from ${SOURCE}/ to ${OUT}/\n`);
