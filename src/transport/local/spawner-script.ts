/**
 * The local spawn helper: a small perl process that starts diffship's shell
 * commands on this machine (spawner.ts). Node's spawn forks the whole Node
 * process and blocks the event loop until the child has exec'd; on a fleet
 * with hooks that was most of the main thread's time. perl forks a few MiB,
 * off our event loop, and many children start at once.
 *
 * Protocol, one line per message, variable fields in lowercase hex:
 *   in   B <base> <env>                                          keep a shared environment as number <base>
 *        R <id> <cwd> <command> <env: NUL-joined NAME=value> <base|->  start `/bin/sh -c command`
 *                                 with environment <base> (if any), then <env> over it
 *        C <id>                                                stop reading its pipes, forget it
 *   out  P <id> <pid>            started; its own session and group (pgid = pid)
 *        F <id> <errno>          could not start (chdir or exec failed); no X follows
 *        O <id> <1|2> <bytes>    output on stdout (1) or stderr (2)
 *        E <id> <1|2>            that stream reached its end
 *        X <id> <code|-> <signal number|->  the shell exited
 * The child's stdin is /dev/null. The helper ends when its stdin does.
 *
 * Each write wakes diffship's event loop, so a short command costs one: P waits (up to
 * 10 ms) for the next message to ride along, and an E of a shell still running waits
 * for its X. A command whose X and both E are out is forgotten here without a C.
 */
export const SPAWNER_SCRIPT = String.raw`
use strict; use warnings; use POSIX ();
$| = 1;
my (%kid, %fh, %bypid, %base);
my $chld = 0;
$SIG{CHLD} = sub { $chld = 1 };
my $in = '';
# Messages of one turn of the loop go in one write: each write wakes diffship's event loop.
# $lazy (P messages) goes out with the next other message, or once the loop waited 10 ms.
my ($obuf, $lazy) = ('', '');
sub out { $obuf .= "$_[0]\n" }
sub flush_out {
  if (length $obuf || $_[0]) { $obuf = $lazy . $obuf; $lazy = '' }
  while (length $obuf) {
    my $n = syswrite(STDOUT, $obuf);
    if (!defined $n) { next if $!{EINTR}; exit 0 }
    substr($obuf, 0, $n, '');
  }
}
# NAME=value pairs of a NUL-joined environment block.
sub pairs_of { map { [split(/=/, $_, 2)] } grep { length } split(/\0/, $_[0]) }
# The shared environment %ENV now holds (its number), set in the helper itself: each child
# then inherits it, and a fork per command copies no rebuilt environment.
my $held_base;
sub start {
  my ($id, $cwd, $cmd, $env, $bid) = @_;
  my $based = defined $bid && exists $base{$bid};
  if ($based && (!defined $held_base || $held_base ne $bid)) {
    %ENV = map { @$_ } pairs_of($base{$bid});
    $held_base = $bid;
  }
  my ($or, $ow, $er, $ew, $sr, $sw);
  pipe($or, $ow) or return out("F $id " . (0 + $!));
  pipe($er, $ew) or return out("F $id " . (0 + $!));
  pipe($sr, $sw) or return out("F $id " . (0 + $!));
  my $pid = fork();
  if (!defined $pid) { out("F $id " . (0 + $!)); return }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    POSIX::setsid();
    my $fail = sub { syswrite($sw, 0 + $!); POSIX::_exit(127) };
    open(STDIN, '<', '/dev/null') or $fail->();
    open(STDOUT, '>&', $ow) or $fail->();
    open(STDERR, '>&', $ew) or $fail->();
    chdir($cwd) or $fail->();
    # %ENV holds the shared environment already (set below, before the fork): only the
    # command's own variables are left to set here, in the copy of the helper that forked.
    if ($based) { $ENV{$_->[0]} = $_->[1] for pairs_of($env) }
    else { %ENV = map { @$_ } pairs_of($env) }
    { no warnings 'exec'; exec { '/bin/sh' } '/bin/sh', '-c', $cmd; }
    $fail->();
  }
  close($ow); close($ew); close($sw);
  $bypid{$pid} = $id;
  $kid{$id} = { status => 1, exit => undef, failed => 0, fds => [], open => 3, held => [], spins => 0 };
  for ([$or, 1], [$er, 2], [$sr, 's']) {
    my ($h, $what) = @$_;
    $fh{fileno($h)} = [$h, $id, $what];
    push @{ $kid{$id}{fds} }, fileno($h);
  }
  $lazy .= "P $id $pid\n";
}
# The E messages held while the shell ran go out now (before its X, or its F).
sub unhold { my $k = $kid{$_[0]} or return; out($_) for splice(@{ $k->{held} }); }
# Reported (X or F out) with every pipe at its end: nothing more will come, so forget it.
sub settle { my $k = $kid{$_[0]} or return; delete $kid{$_[0]} if $k->{failed} && !$k->{open}; }
sub read_pipe {
  my ($fd) = @_;
  my ($h, $id, $what) = @{ $fh{$fd} };
  my $got = sysread($h, my $buf, 65536);
  return if !defined $got && $!{EINTR};
  if ($got) {
    if ($what eq 's') { unhold($id); $kid{$id}{failed} = 1; out("F $id $buf") }
    else { out("O $id $what " . unpack('H*', $buf)) }
    return;
  }
  delete $fh{$fd}; close($h);
  my $k = $kid{$id};
  $k->{open}-- if $k;
  if ($what eq 's') { $k->{status} = 0 if $k; done_exit($id) }
  elsif ($k && !$k->{failed}) { push @{ $k->{held} }, "E $id $what" }
  else { out("E $id $what") }
  settle($id);
}
# The shell closes its pipes as it exits, one after the other: the select that saw the first
# end may come before the second, and the exit be reaped before it. What is ready now goes
# out before the X (bounded: a background child may hold a pipe open and keep writing).
sub drain {
  my ($id) = @_;
  for (1 .. 4) {
    my $k = $kid{$id} or return;
    my @fds = grep { $fh{$_} && $fh{$_}[1] eq $id && $fh{$_}[2] ne 's' } @{ $k->{fds} };
    return unless @fds;
    my $rin = '';
    vec($rin, $_, 1) = 1 for @fds;
    return unless select(my $rout = $rin, undef, undef, 0) > 0;
    for my $fd (@fds) { read_pipe($fd) if vec($rout, $fd, 1) && $fh{$fd} }
  }
}
sub done_exit {
  my ($id) = @_;
  my $k = $kid{$id} or return;
  return if $k->{status} || !defined $k->{exit};
  drain($id);
  unhold($id);
  out("X $id $k->{exit}") unless $k->{failed};
  $k->{exit} = undef; $k->{failed} = 1;
  settle($id);
}
sub drop {
  my ($id) = @_;
  my $k = delete $kid{$id} or return;
  # A number closed at its end may belong to a newer command's pipe by now.
  for my $fd (@{ $k->{fds} }) {
    next unless $fh{$fd} && $fh{$fd}[1] eq $id;
    close(delete($fh{$fd})->[0]);
  }
}
sub reap {
  $chld = 0;
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = delete $bypid{$pid};
    next unless defined $id && $kid{$id};
    my $st = $?;
    $kid{$id}{exit} = ($st & 127) ? "- " . ($st & 127) : ($st >> 8) . " -";
    done_exit($id);
  }
}
while (1) {
  reap();
  flush_out();
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, $_, 1) = 1 for keys %fh;
  # A shell whose pipes all ended is exiting: its SIGCHLD may have come just before this
  # select (after reap), so look again soon. A pid waits 10 ms for company; 50 ms bounds
  # any other missed SIGCHLD.
  my $exiting = grep { !$_->{open} && !$_->{failed} && $_->{spins}++ < 20 } values %kid;
  my $wait = $exiting ? 0.001 : length $lazy ? 0.01 : %bypid ? 0.05 : undef;
  my $n = select(my $rout = $rin, undef, undef, $wait);
  flush_out(1) if $n == 0 && !$exiting;
  next if $n <= 0;
  # Pipes first: a command dropped or started below may reuse a number set in $rout.
  for my $fd (keys %fh) {
    read_pipe($fd) if vec($rout, $fd, 1) && $fh{$fd};
  }
  if (vec($rout, 0, 1)) {
    my $got = sysread(STDIN, $in, 65536, length $in);
    next if !defined $got && $!{EINTR};
    exit 0 unless $got;
    while ((my $nl = index($in, "\n")) >= 0) {
      my @f = split(/ /, substr($in, 0, $nl + 1, ''));
      chomp(@f);
      if ($f[0] eq 'R') { start($f[1], (map { defined $_ ? pack('H*', $_) : '' } @f[2..4]), $f[5]) }
      elsif ($f[0] eq 'B') { $base{$f[1]} = pack('H*', $f[2] // '') }
      elsif ($f[0] eq 'C') { drop($f[1]) }
    }
  }
}
`;
