/** Entry point of the bundled action (dist/index.js). */
import '../threadpool-size.js'; // first: it must run before anything uses libuv's threadpool
import { run } from './main.js';

// A cancelled run: targets the rollout gave up on may still wind down in the background
// (rollout/hard-stop.ts); once the report and outputs are written they must not keep the job alive.
let signalled = false;
const note = () => (signalled = true);
process.once('SIGINT', note);
process.once('SIGTERM', note);
await run();
process.off('SIGINT', note);
process.off('SIGTERM', note);
if (signalled) setTimeout(() => process.exit(), 100).unref();
