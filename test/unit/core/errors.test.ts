import { asStepFailure, ERROR_CODES, errorCause, isStableCode, MergeFailedError, parseCause, TooLargeError, UnsafeUrlError } from '../../../core/errors.js';

describe('errors that cross a state boundary', () => {
  it('carry their stable code as the name Step Functions matches on', () => {
    const err = new UnsafeUrlError('refused');
    expect(err.name).toBe('UnsafeUrl');
    expect(err.code).toBe('UnsafeUrl');
    expect(err).toBeInstanceOf(Error);
  });

  it('round-trip through a Step Functions cause with the stderr tail, capped at ten lines', () => {
    const lines = Array.from({ length: 14 }, (_, i) => `line ${i}`);
    const cause = errorCause(new MergeFailedError('remux failed', { details: { stderrTail: lines } }));
    expect(parseCause(cause)).toEqual({ message: 'remux failed', stderrTail: lines.slice(-10) });
  });

  it('read a plain-text cause as the message', () => {
    expect(parseCause('Task timed out')).toEqual({ message: 'Task timed out' });
  });

  it.each([
    ['classify', 'UnsupportedSource'],
    ['extract', 'ExtractionFailed'],
    ['merge', 'MergeFailed'],
    ['transcribe', 'TranscriptionFailed'],
    ['publish', 'PublishFailed'],
  ] as const)('give an unexpected error thrown in %s the stable code %s, naming what was thrown', (step, code) => {
    const failure = asStepFailure(new RangeError('Invalid key length'), step);
    expect(failure).toMatchObject({ name: code, code, message: 'RangeError: Invalid key length' });
    expect(ERROR_CODES).toContain(failure.name);
  });

  it('keep a stable error as it is, and a tool\'s stderr tail on an unexpected one', () => {
    const tooLarge = new TooLargeError('over');
    expect(asStepFailure(tooLarge, 'extract')).toBe(tooLarge);
    const tool = Object.assign(new Error('ffmpeg exited with code 1'), { name: 'ToolError', stderrTail: ['bad header'] });
    expect(parseCause(errorCause(asStepFailure(tool, 'merge')))).toEqual({ message: 'ToolError: ffmpeg exited with code 1', stderrTail: ['bad header'] });
    expect(asStepFailure('thrown text', 'extract')).toMatchObject({ name: 'ExtractionFailed', message: 'Error: thrown text' });
  });

  it('count the names AWS gives a failed state or function as stable, and nothing else', () => {
    for (const code of ['MergeFailed', 'States.Timeout', 'Lambda.ServiceException', 'SQS.AmazonSQSException', 'Runtime.OutOfMemory', 'Sandbox.Timedout']) {
      expect(isStableCode(code)).toBe(true);
    }
    for (const code of ['Error', 'TypeError', 'Runtime.', 'Other.Thing', 'States.Timeout; drop table']) expect(isStableCode(code)).toBe(false);
  });
});
