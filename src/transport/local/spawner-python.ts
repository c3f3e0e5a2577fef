/**
 * The local spawn helper in Python: the perl helper's protocol (spawner-script.ts), with
 * each shell started by `os.posix_spawn` (glibc's clone(CLONE_VM|CLONE_VFORK)) instead of
 * perl's fork. A fork copies the helper's page tables and every page either side writes
 * afterwards; perl's interpreter writes many (reference counts), and on a paravirtualised
 * machine every page-table change traps to the hypervisor. 800 `/bin/sh -c true` at 10 at
 * a time: ~9.9 s of CPU forked by perl, ~5.5 s spawned by Python, ~6.8 s by `xargs -P10`
 * (perf stat task-clock, loaded 2-core VM).
 *
 * Differences kept invisible to the commands:
 * - the working directory is set by the helper itself before the spawn (posix_spawn has no
 *   portable chdir action) and put back right after; a chdir failure is an F with its errno;
 * - Python ignores SIGPIPE and SIGXFSZ, and an ignored signal survives exec: both are set
 *   back to their default in the child (setsigdef), with an empty signal mask, as perl's
 *   children had them (glibc's posix_spawn leaves its own two internal signals, 32 and 33,
 *   ignored: glibc and musl set handlers for them when a program uses them);
 * - every descriptor Python opens is close-on-exec (PEP 446), as perl's pipes are.
 *
 * Where this Python cannot do it (before 3.8, or no POSIX_SPAWN_SETSID), the script execs
 * the perl helper (its text is argv[1]) on the same pipes before reading a byte: same protocol.
 * SIGCHLD wakes the poll through signal.set_wakeup_fd, so no exit waits for a timeout.
 */
export const SPAWNER_PYTHON = String.raw`
import os, sys, select, signal
def fall_back():
    try: os.execvp('perl', ['perl', '-e', sys.argv[1]])
    finally: os._exit(1)
try:
    os.posix_spawn('/', ['/'], {}, setsid=True)
except OSError:
    pass
except Exception:
    fall_back()
DEFAULT = [s for s in (getattr(signal, 'SIGPIPE', None), getattr(signal, 'SIGXFSZ', None)) if s]
home = os.open('.', os.O_RDONLY)
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.signal(signal.SIGCHLD, lambda *_: None)
signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
poll = select.poll()
poll.register(0, select.POLLIN)
poll.register(wake_r, select.POLLIN)
kids, fh, bypid, bases = {}, {}, {}, {}
out_buf, lazy = [], []
def out(line): out_buf.append(line + '\n')
def flush(force=False):
    global out_buf, lazy
    if out_buf or force:
        out_buf = lazy + out_buf
        lazy = []
    data = ''.join(out_buf).encode('latin-1')
    out_buf = []
    while data:
        try: data = data[os.write(1, data):]
        except InterruptedError: continue
        except OSError: os._exit(0)
def pairs(block):
    env = {}
    for item in block.split(b'\0'):
        name, eq, value = item.partition(b'=')
        if name and eq: env[name] = value
    return env
def start(kid_id, cwd, cmd, env_block, base_id):
    env = dict(bases[base_id]) if base_id in bases else {}
    env.update(pairs(env_block))
    try: os.chdir(cwd)
    except OSError as e: return out('F %s %d' % (kid_id, e.errno))
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    try:
        pid = os.posix_spawn(b'/bin/sh', [b'/bin/sh', b'-c', cmd], env, setsid=True,
            setsigdef=DEFAULT, setsigmask=[], file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, w1, 1), (os.POSIX_SPAWN_DUP2, w2, 2)])
    except (OSError, ValueError) as e:
        for fd in (r1, w1, r2, w2): os.close(fd)
        return out('F %s %d' % (kid_id, getattr(e, 'errno', None) or 22))
    finally:
        os.fchdir(home)
    os.close(w1)
    os.close(w2)
    bypid[pid] = kid_id
    kids[kid_id] = {'open': 2, 'held': [], 'reported': False, 'fds': [r1, r2]}
    for fd, what in ((r1, '1'), (r2, '2')):
        fh[fd] = (kid_id, what)
        poll.register(fd, select.POLLIN)
    lazy.append('P %s %d\n' % (kid_id, pid))
def settle(kid_id):
    k = kids.get(kid_id)
    if k and k['reported'] and not k['open']: del kids[kid_id]
def read_pipe(fd):
    kid_id, what = fh[fd]
    try: data = os.read(fd, 65536)
    except InterruptedError: return
    if data:
        out('O %s %s %s' % (kid_id, what, data.hex()))
        return
    close_fd(fd)
    k = kids.get(kid_id)
    if k: k['open'] -= 1
    if k and not k['reported']: k['held'].append('E %s %s' % (kid_id, what))
    else: out('E %s %s' % (kid_id, what))
    settle(kid_id)
# The shell closes its pipes as it exits, one after the other: the poll that saw the first
# end may come before the second, and the exit be reaped before it. What is ready now goes
# out before the X (bounded: a background child may hold a pipe open and keep writing).
def drain(kid_id):
    for _ in range(4):
        k = kids.get(kid_id)
        fds = [fd for fd in (k['fds'] if k else []) if fd in fh and fh[fd][0] == kid_id]
        if not fds: return
        now = select.poll()
        for fd in fds: now.register(fd, select.POLLIN)
        ready = now.poll(0)
        if not ready: return
        for fd, _ in ready: read_pipe(fd)
def exited(kid_id, status):
    k = kids.get(kid_id)
    if not k or k['reported']: return
    drain(kid_id)
    for line in k['held']: out(line)
    k['held'] = []
    if os.WIFSIGNALED(status): out('X %s - %d' % (kid_id, os.WTERMSIG(status)))
    else: out('X %s %d -' % (kid_id, os.WEXITSTATUS(status)))
    k['reported'] = True
    settle(kid_id)
def close_fd(fd):
    poll.unregister(fd)
    del fh[fd]
    os.close(fd)
def drop(kid_id):
    k = kids.pop(kid_id, None)
    if not k: return
    for fd in k['fds']:
        if fd in fh and fh[fd][0] == kid_id: close_fd(fd)
def reap():
    while True:
        try: pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError: return
        if pid == 0: return
        kid_id = bypid.pop(pid, None)
        if kid_id is not None: exited(kid_id, status)
pending = b''
while True:
    reap()
    flush()
    ready = poll.poll(10 if lazy else None)
    if not ready:
        flush(True)
        continue
    # Pipes before stdin: a command dropped or started there may reuse a number in ready.
    for fd, _ in sorted(ready, key=lambda r: r[0] == 0):
        if fd in fh:
            read_pipe(fd)
        elif fd == wake_r:
            try: os.read(wake_r, 4096)
            except (BlockingIOError, InterruptedError): pass
        elif fd == 0:
            try: got = os.read(0, 65536)
            except InterruptedError: continue
            if not got: os._exit(0)
            pending += got
            *lines, pending = pending.split(b'\n')
            for line in lines:
                f = line.split(b' ')
                if f[0] == b'R' and len(f) >= 6:
                    start(f[1].decode(), bytes.fromhex(f[2].decode()), bytes.fromhex(f[3].decode()),
                          bytes.fromhex(f[4].decode()), f[5].decode())
                elif f[0] == b'B' and len(f) >= 2:
                    bases[f[1].decode()] = pairs(bytes.fromhex(f[2].decode()) if len(f) > 2 else b'')
                elif f[0] == b'C' and len(f) >= 2:
                    drop(f[1].decode())
`;
