/** Entry point of the bundled action (dist/index.js). */
import { run } from './main.js';
import { runCommand } from './run-command.js';

await run(runCommand);
