/**
 * The demo's diffship.yml: written out as a person would write it, comments
 * included, so the demo folder doubles as a worked example.
 */
import type { DemoHost } from './hosts.js';

/** Verify timings: short, so the broken release is refused in seconds, not minutes. */
export const VERIFY_TIMEOUT = '4s';

/** The config text for `hosts` (ports known only once they run). `ctl.mjs` sits next to it. */
export function demoConfig(hosts: readonly DemoHost[]): string {
  const targets = hosts.map((h) => {
    const lines = [`  - name: ${h.name}`, `    path: hosts/${h.name}`, `    vars: { port: ${h.port} }`];
    if (h.importMode === 'on-restart') {
      lines.push(
        '    # This host loads files only when it starts: activate restarts it.',
        "    activate: { run: 'node ctl.mjs restart --port {vars.port}', timeout: 30s }",
      );
    }
    return lines.join('\n');
  });
  return `# Written by \`diffship demo\`. Three example hosts (examples/host/server.mjs),
# each serving its own folder under hosts/. Hooks run in this folder.
source: workflows            # ship the repository's workflows/ folder
include: ['**/*.json']
waves: [1, '100%']           # a canary first, then all the others
max-parallel: 2              # inside a wave, two hosts at a time
max-failures: 0              # one failed host stops the rollout
rollback: target             # a failed host gets its previous release back
timeout: 5m
defaults:
  # Take the host out of service while its files change.
  before: { run: 'node ctl.mjs drain --port {vars.port}', timeout: 10s }
  # Hosts that import files as they arrive need only a moment.
  activate: { settle: 300ms }
  verify:
    # 200 only when every loaded workflow is valid, and only once the host
    # reports the release being shipped: proof that the new version is live.
    - http:
        url: 'http://127.0.0.1:{vars.port}/health'
        status: 200
        contains: 'release: {release}'
        interval: 200ms
        timeout: ${VERIFY_TIMEOUT}
        success-threshold: 2
  # Back into service, also after a failure and a rollback.
  after: { run: 'node ctl.mjs enable --port {vars.port}', timeout: 10s }
targets:
${targets.join('\n')}
`;
}
