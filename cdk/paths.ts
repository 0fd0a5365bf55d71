import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: Lambda entries, the worker's Dockerfile and the ASL file are found from here. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ASL_FILE = join(REPO_ROOT, 'statemachine', 'pipeline.asl.json');
