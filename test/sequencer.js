import jestSequencer from '@jest/test-sequencer';

/** jest's own sequencer (a CommonJS module: its class is the default export's `default`). */
const Sequencer = jestSequencer.default;

/**
 * Rough seconds of the files that run longest, from full runs on 2 cores. A run with no timings of an earlier one (a
 * fresh clone: CI) is ordered by jest by file size, and some short e2e files run for a minute: started last, they
 * leave one worker idle while the other finishes them.
 */
const SECONDS = {
  'e2e/cli.test.ts': 100,
  'e2e/media.test.ts': 80,
  'e2e/platform.test.ts': 90,
  'e2e/resume.test.ts': 90,
  'e2e/workers.test.ts': 70,
  'e2e/hostile.test.ts': 70,
  'e2e/hostile-ranges.test.ts': 70,
  'e2e/hostile-stops.test.ts': 60,
  'e2e/job.test.ts': 55,
  'e2e/upload-tickets.test.ts': 50,
  'unit/cdk/stack.test.ts': 45,
  'e2e/hls.test.ts': 43,
  'e2e/api.test.ts': 36,
  'e2e/hostile-requests.test.ts': 35,
  'integration/download.test.ts': 34,
  'e2e/iam.test.ts': 33,
  'integration/reconcile.test.ts': 32,
  'e2e/dash.test.ts': 30,
};

/**
 * The longest files first, so that the two workers end together: by this run's own timings when jest has them from
 * an earlier run, else by the table above, the files it does not name after those it does (in jest's order). Files
 * that failed last time still come first.
 */
export default class LongestFirst extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const seconds = (test) => test.duration / 1000 || SECONDS[test.path.split('/test/').at(-1)] || 0;
    const rank = new Map(ordered.map((test, i) => [test, i]));
    return [...ordered].sort((a, b) => Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || seconds(b) - seconds(a) || rank.get(a) - rank.get(b));
  }
}
