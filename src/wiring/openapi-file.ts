import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed openapi.yaml, beside src/ (and beside dist/ in the image). */
export const OPENAPI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../openapi.yaml');

/** The published spec as /openapi.yaml serves it; empty when the file is absent (a bare checkout of src/). */
export function readPublishedSpec(): string {
  return existsSync(OPENAPI_PATH) ? readFileSync(OPENAPI_PATH, 'utf8') : '';
}
