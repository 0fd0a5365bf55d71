import { loadConfig } from '../../core/config.js';
import { classify } from './classify.js';

/** AWS entry: the Step Functions Classify state invokes this with the execution input. */
export const handler = async (event: unknown) => classify(event, loadConfig());
