import { loadConfig } from '../../core/config.js';
import { withSecrets } from '../../core/secrets.js';
import { notify } from './notify.js';

/** AWS entry: the Notify states invoke this with the execution state. */
export const handler = async (event: unknown) => notify(event, await withSecrets(loadConfig()));
