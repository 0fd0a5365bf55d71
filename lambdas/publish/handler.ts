import { loadConfig } from '../../core/config.js';
import { publish } from './publish.js';

/** AWS entry: the Step Functions Publish state invokes this with the execution state. */
export const handler = async (event: unknown) => publish(event, loadConfig());
