#!/usr/bin/env node
// A far host on loopback: a TCP proxy on 127.0.0.1 that holds every chunk for half a round
// trip in each direction before passing it on, so each request-and-answer costs `rtt` ms more
// (latency only: the bytes still move at loopback's speed once under way). Run as its own
// process (the bench times its tools with synchronous spawns, which would stop a proxy in its
// own event loop): `node latency-proxy.mjs <to-port> <rtt-ms>` prints its port, then serves
// until killed. Timers of one duration fire in the order set, so each direction keeps its order.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const [toPort, rttMs] = process.argv.slice(2).map(Number);
if (!(toPort > 0) || !(rttMs >= 0)) {
  console.error('usage: latency-proxy.mjs <to-port> <rtt-ms>');
  process.exit(2);
}
const oneWay = rttMs / 2;

// LATENCY_LOG=<file>: one line per chunk (ms since the proxy started, direction, bytes), to
// see where a tool waits for an answer: a `>` after a `<` is one more round trip.
const logFile = process.env.LATENCY_LOG;
const started = performance.now();
const log = (dir, n) =>
  logFile && appendFileSync(logFile, `${(performance.now() - started).toFixed(1)} ${dir} ${n}\n`);

/** `from`'s bytes and end reach `to` oneWay ms later, in order. */
function delayed(from, to, dir) {
  from.on('data', (chunk) => {
    log(dir, chunk.length);
    setTimeout(() => to.destroyed || to.write(chunk), oneWay);
  });
  from.on('end', () => setTimeout(() => to.destroyed || to.end(), oneWay));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), oneWay + 1));
}

const server = net.createServer((client) => {
  client.setNoDelay(true);
  const host = net.connect(toPort, '127.0.0.1');
  host.setNoDelay(true);
  delayed(client, host, '>');
  delayed(host, client, '<');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
