import { STEP_LOG } from '../../../core/logger.js';
import { stepMark } from '../../../local/pool.js';

describe('a worker’s step marks, read from its log', () => {
  it('reads a started and an ended step', () => {
    expect(stepMark(JSON.stringify({ level: 'INFO', message: STEP_LOG.started, jobId: 'j1', step: 'extract' }))).toEqual({ started: true, step: 'j1/extract' });
    expect(stepMark(JSON.stringify({ message: STEP_LOG.ended, jobId: 'j1', step: 'extract' }))).toEqual({ started: false, step: 'j1/extract' });
  });

  it('marks nothing for other lines, cut lines, or lines that only quote the words', () => {
    expect(stepMark(JSON.stringify({ message: 'step succeeded', jobId: 'j1', step: 'merge' }))).toBeUndefined();
    expect(stepMark(`{"message":"${STEP_LOG.started}","jobId":"j1"`)).toBeUndefined();
    expect(stepMark(`ffmpeg: "${STEP_LOG.ended}" is not a stream`)).toBeUndefined();
    expect(stepMark(JSON.stringify({ message: 'x', note: STEP_LOG.started, jobId: 'j1', step: 'merge' }))).toBeUndefined();
  });
});
