import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { enroll } from '../helpers/factors.js';

// jsqr is CommonJS whose module.exports is the decoder itself.
const jsQR = createRequire(import.meta.url)('jsqr') as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/**
 * Rasterises the SVG the qrcode package writes (one `<path stroke=…>` of `M x y h n` and relative
 * `m dx dy h n` runs, each run one module high, centred on y + 0.5) at `scale` pixels a module, into
 * RGBA pixels a QR decoder reads.
 */
function rasterise(
  svg: string,
  scale: number,
): { data: Uint8ClampedArray; width: number; height: number } {
  const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const d = /<path stroke="#000000" d="([^"]+)"/.exec(svg)?.[1];
  if (!size || !d) throw new Error('unexpected SVG shape');
  const dark = new Set<string>();
  let x = 0;
  let y = 0;
  for (const [, command, args] of d.matchAll(/([MmHh])([^MmHh]*)/g)) {
    const numbers = (args ?? '')
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    if (command === 'M') [x, y] = [numbers[0]!, numbers[1]!];
    else if (command === 'm') [x, y] = [x + numbers[0]!, y + numbers[1]!];
    else {
      const length = command === 'h' ? numbers[0]! : numbers[0]! - x;
      for (let i = 0; i < length; i++) dark.add(`${x + i},${Math.floor(y)}`);
      x += length;
    }
  }
  const width = size * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let py = 0; py < width; py++) {
    for (let px = 0; px < width; px++) {
      if (dark.has(`${Math.floor(px / scale)},${Math.floor(py / scale)}`))
        data.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3);
    }
  }
  return { data, width, height: width };
}

describe('enrolment QR code', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('decodes to exactly the otpauth URI (made locally: the SVG references nothing outside itself)', async () => {
    const factor = await enroll(t, {
      user: 'user_42',
      type: 'totp',
      label: 'alice@example.com',
      issuer: 'ACME Bank',
    });
    expect(factor.qrSvg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(factor.qrSvg).not.toMatch(/<image|<script|href=/);
    const { data, width, height } = rasterise(factor.qrSvg, 6);
    const decoded = jsQR(data, width, height);
    expect(decoded?.data).toBe(factor.otpauthUri);
    const uri = new URL(factor.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(factor.secret);
    expect(uri.searchParams.get('issuer')).toBe('ACME Bank');
  });
});
