import { setTimeout as sleep } from 'node:timers/promises';
import { inLanes } from '../../../core/lanes.js';

describe('work in lanes', () => {
  it('keeps the order of the results', async () => {
    expect(await inLanes([30, 10, 20], 2, async (ms) => (await sleep(ms), ms * 2))).toEqual([60, 20, 40]);
  });

  it('after a failure starts nothing new, and fails only once the items already running have ended', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const run = inLanes([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      if (i === 0) throw new Error('item 0 failed');
      await sleep(50);
      ended.push(i);
    });
    await expect(run).rejects.toThrow('item 0 failed');
    // Item 1 was running when item 0 failed: it ended before the failure was thrown; nothing after it started.
    expect(ended).toEqual([1]);
    expect(started).toEqual([0, 1]);
  });

  it('throws the failure that came first, whichever lane it was in', async () => {
    const run = inLanes([0, 1], 2, async (i) => {
      await sleep(i === 0 ? 100 : 10);
      throw new Error(`item ${i} failed`);
    });
    await expect(run).rejects.toThrow('item 1 failed');
  });
});
