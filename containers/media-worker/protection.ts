import { logger } from '../../core/logger.js';

/** The longest protection ECS grants (48 h): a step never runs that long, and it is turned off as the step ends. */
const PROTECTION_MINUTES = 2880;

/**
 * ECS task scale-in protection while any step runs, so scaling in never stops a busy worker. On Fargate the ECS agent
 * serves it at `$ECS_AGENT_URI/task-protection/v1/state`; without that variable (the local runtime, where nothing
 * scales in) there is nothing to protect and this does nothing.
 */
export function scaleInProtection(agentUri: string | undefined) {
  let busy = 0;
  // Updates in order: a release never overtakes the acquire before it.
  let last: Promise<void> = Promise.resolve();
  const set = (enabled: boolean) => {
    if (!agentUri) return last;
    const body = enabled ? { ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES } : { ProtectionEnabled: false };
    last = last.then(async () => {
      try {
        const res = await fetch(`${agentUri}/task-protection/v1/state`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (!res.ok) logger.warn('scale-in protection refused', { enabled, status: res.status, body: await res.text() });
      } catch (err) {
        // A step runs unprotected rather than not at all; the message is still claimed by its visibility timeout.
        logger.warn('scale-in protection failed', { enabled, error: (err as Error).message });
      }
    });
    return last;
  };
  return {
    /** A step starts: protected from the first one on. */
    acquire: () => (busy++ === 0 ? set(true) : last),
    /** A step ended: unprotected once none runs. */
    release: () => (--busy === 0 ? set(false) : last),
  };
}
