import { errorCause, MergeFailedError, parseCause, UnsafeUrlError } from '../../../core/errors.js';

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
});
