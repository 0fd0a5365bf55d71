import { entry } from '../../core/component.js';
import { withSecrets } from '../../core/secrets.js';
import { notify } from './notify.js';

/** AWS entry: the Notify states invoke this with the execution state. */
export const { handler, forEnvironment } = entry('notify', (deps) => async (event: unknown) =>
  notify(event, { ...deps, config: await withSecrets(deps.config) }),
);
