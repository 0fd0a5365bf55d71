import { partRanges } from '../../../core/s3-copy.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Asserts S3's rules: from 0, contiguous, to the last byte; parts 5 MiB..5 GiB but the last; at most 10,000. */
function expectValid(ranges: Array<[number, number]>, size: number) {
  expect(ranges.length).toBeLessThanOrEqual(10_000);
  const problems: string[] = [];
  let next = 0;
  for (const [i, [first, last]] of ranges.entries()) {
    const bytes = last - first + 1;
    if (first !== next) problems.push(`part ${i + 1} starts at ${first}, not ${next}`);
    if (bytes > 5 * GiB || (i < ranges.length - 1 && bytes < 5 * MiB)) problems.push(`part ${i + 1} is ${bytes} bytes`);
    next = last + 1;
  }
  expect(problems).toEqual([]);
  expect(next).toBe(size);
}

describe('the parts of a multipart copy', () => {
  it('copies the largest accepted source (10 GiB) in 20 parts of 512 MiB by default', () => {
    const ranges = partRanges(10 * GiB, 5 * GiB);
    expect(ranges).toHaveLength(20);
    expectValid(ranges, 10 * GiB);
  });

  it('keeps parts no larger than a lowered threshold', () => {
    const ranges = partRanges(13 * MiB + 1, 6 * MiB);
    expect(ranges.map(([a, b]) => b - a + 1)).toEqual([6 * MiB, 6 * MiB, MiB + 1]);
  });

  it('grows the parts so that an object of S3\'s largest size takes at most 10,000', () => {
    expectValid(partRanges(5 * 1024 * GiB, 5 * GiB), 5 * 1024 * GiB);
  });
});
