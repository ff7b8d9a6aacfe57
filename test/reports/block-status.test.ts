import { describe, expect, it } from 'vitest';
import { createBlockStatusReader, type ListedBlockEntry } from '../../src/reports/block-status.js';

const entry = (id: string, kind: string, value: string, action = 'block'): ListedBlockEntry => ({
  id,
  kind,
  value,
  action,
  expiresAt: null,
});

describe('block status read from blocklist entries', () => {
  const reader = createBlockStatusReader({
    list: () =>
      Promise.resolve([
        entry('blk_1', 'prefix', '+33612'),
        entry('blk_2', 'prefix', '+3361234'),
        entry('blk_3', 'number', '+33612349999', 'allow'),
        entry('blk_4', 'ip', '203.0.113.5'),
        entry('blk_5', 'ip', '198.51.100.7', 'allow'),
      ]),
  });

  it('reports the most specific block covering a prefix or a number, and an allow entry over any block', async () => {
    expect(
      await reader.statusOf([
        { kind: 'prefix', value: '+3361234' },
        { kind: 'prefix', value: '+3361299' },
        { kind: 'number', value: '+33612340000' },
        { kind: 'number', value: '+33612349999' },
        { kind: 'prefix', value: '+1415555' },
        { kind: 'ip', value: '203.0.113.5' },
        { kind: 'ip', value: '198.51.100.7' },
        { kind: 'number', value: '' },
      ]),
    ).toEqual([
      { status: 'blocked', entryId: 'blk_2', expiresAt: null },
      { status: 'blocked', entryId: 'blk_1', expiresAt: null },
      { status: 'blocked', entryId: 'blk_2', expiresAt: null },
      { status: 'allowed', entryId: 'blk_3', expiresAt: null },
      { status: 'none', entryId: null, expiresAt: null },
      { status: 'blocked', entryId: 'blk_4', expiresAt: null },
      { status: 'allowed', entryId: 'blk_5', expiresAt: null },
      { status: 'none', entryId: null, expiresAt: null },
    ]);
  });
});
