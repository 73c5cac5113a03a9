#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where the time of each Cancel of a traced `ab.sh --case cancel` run goes, hop by hop.

Reads `perf script -F comm,pid,tid,cpu,time,event,trace` of a recording made by
tests/bench/cancel-trace.sh: the scheduler's switches and wake-ups, the system calls of the
bench client and of dbus-daemon, xferd's sendmsg() and send() (a Cancel's signals and reply
in one write), and uprobes on xferd (the Cancel
handler, job_cancel()'s return, the unlink on the worker, its result on the loop, the reply,
curl's dispatches). Each Cancel is split into

  client → bus     the client's sendmsg() to dbus-daemon's sendmsg() of the call to xferd
  bus → handler    that to bus_job_method_cancel() on xferd's loop (the loop running, waiting
                   for a CPU, asleep; curl dispatches in between: count and longest)
  handler → reply  that to pending_reply_done() (the unlink on the worker; the loop's waits)
  reply → bus      xferd's write of the reply to dbus-daemon's sendmsg() to the client
  bus → client     that to the client's recvmsg() of the reply

Within handler → reply it also says what the unlinks waited for besides a CPU: a store
checkpoint (wal_checkpoint_run) that the same worker ran between the handler and the
unlinks (queued ahead of them), and, once the worker was done (batch_run's return), the loop
busy elsewhere before it took the result (on_job_unlinked): the curl dispatches in between.

And every wait for a CPU of the four tasks on the path (client, bus, xferd's loop, the unlink
worker) is charged to what ran on that CPU meanwhile: xferd's loop, its pools by priority,
nginx, the kernel's threads, or anything else ("other sessions": the rest of the machine).
Stretches in which neither CPU took a sample of the 4 kHz cpu-clock event (when recorded)
while a task was on one of them are the virtual machine not running: counted apart.

Usage: cancel-hops.py TRACE.txt [--rows N] [--samples N]"""
import argparse
import bisect
import collections
import re
import statistics

LINE = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$')
SWITCH = re.compile(r'prev_comm=(.*) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> '
                    r'next_comm=(.*) next_pid=(\d+) next_prio=(\d+)')
WAKEUP = re.compile(r'pid=(\d+) .*target_cpu=(\d+)')
NR_SENDMSG, NR_RECVFROM, NR_RECVMSG = 46, 45, 47


class Trace:
    def __init__(self, path):
        self.switches = []                          # (t, cpu, prev, prev_state, next)
        self.wakeups = collections.defaultdict(list)  # tid -> [(t, target cpu)]
        self.sends = collections.defaultdict(list)    # tid -> [t] of sendmsg() (xferd's: or send())
        self.received = collections.defaultdict(list)  # tid -> [t] of a recvmsg() that got bytes
        self.probes = collections.defaultdict(list)   # function -> [(t, tid)]
        self.samples = collections.defaultdict(list)  # cpu -> [t] of cpu-clock
        self.pid, self.comm, self.prio = {}, {}, {}
        for line in open(path, errors='replace'):
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, tid, cpu, t, event, rest = m.groups()
            t, tid, cpu = float(t), int(tid), int(cpu)
            self.pid[tid] = int(pid)
            self.comm[tid] = comm
            if event == 'sched:sched_switch':
                a = SWITCH.search(rest)
                prev, nxt = int(a.group(2)), int(a.group(6))
                self.prio[prev], self.prio[nxt] = int(a.group(3)), int(a.group(7))
                self.comm.setdefault(prev, a.group(1))
                self.comm.setdefault(nxt, a.group(5))
                self.switches.append((t, cpu, prev, a.group(4), nxt))
            elif event == 'sched:sched_wakeup':
                a = WAKEUP.search(rest)
                self.wakeups[int(a.group(1))].append((t, int(a.group(2))))
            elif event == 'raw_syscalls:sys_enter':
                if rest.startswith('NR %d ' % NR_SENDMSG):
                    self.sends[tid].append(t)
            elif event == 'raw_syscalls:sys_exit':
                a = re.match(r'NR (-?\d+) = (-?\d+)', rest)
                if a and int(a.group(1)) in (NR_RECVFROM, NR_RECVMSG) and int(a.group(2)) > 0:
                    self.received[tid].append(t)
            elif event in ('syscalls:sys_enter_sendmsg', 'syscalls:sys_enter_sendto'):
                self.sends[tid].append(t)
            elif event.startswith('probe_'):
                # cancel-trace.sh names them xferd_c_FUNCTION (and FUNCTION__return)
                self.probes[event.split(':')[1].removeprefix('xferd_c_')].append((t, tid))
            elif event.startswith('cpu-clock'):
                self.samples[cpu].append(t)
        by_cpu = collections.defaultdict(list)
        for t, cpu, prev, state, nxt in self.switches:
            by_cpu[cpu].append((t, nxt))
        self.on_cpu = dict(by_cpu)
        self.on_cpu_t = {c: [x[0] for x in v] for c, v in by_cpu.items()}


def before(lst, t):
    i = bisect.bisect_left(lst, t)
    return lst[i - 1] if i else None


def after(lst, t):
    if t is None:
        return None
    i = bisect.bisect_right(lst, t)
    return lst[i] if i < len(lst) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace')
    ap.add_argument('--rows', type=int, default=10, help='the slowest Cancels shown one by one')
    ap.add_argument('--samples', type=int, default=200,
                    help='the timed Cancels, the first ones (ab.sh: 200; the bench then cancels its jobs untimed)')
    args = ap.parse_args()
    tr = Trace(args.trace)

    cancels = [t for t, _ in tr.probes['bus_job_method_cancel']][:args.samples]
    if not cancels:
        raise SystemExit('cancel-hops: no Cancel in the trace (were the probes on this build\'s xferd?)')
    loop = collections.Counter(tid for _, tid in tr.probes['bus_job_method_cancel']).most_common(1)[0][0]
    xferd = tr.pid[loop]

    def busiest(comm):
        """The process of that name whose sendmsg() came last before most Cancels."""
        cands = [p for p in tr.sends if tr.comm.get(p) == comm]
        votes = collections.Counter(max(cands, key=lambda p: before(tr.sends[p], x) or 0) for x in cancels)
        return votes.most_common(1)[0][0]

    client, bus = busiest('xferd-bench'), busiest('dbus-daemon')
    workers = {tid for _, tid in tr.probes['batch_unlink']}
    loop_sends = tr.sends[loop]
    P = {k: [t for t, _ in v] for k, v in tr.probes.items()}
    io = list(zip([t for t, tid in tr.probes['on_curl_io'] if tid == loop],
                  [t for t, tid in tr.probes['on_curl_io__return'] if tid == loop]))

    def kind(tid):
        if tid == loop:
            return 'xferd loop'
        if tid == client:
            return 'bench client'
        if tid == bus:
            return 'bench bus'
        if tid in workers:
            return 'xferd unlink worker'
        if tr.pid.get(tid) == xferd:
            p = tr.prio.get(tid, 0)
            return 'xferd SCHED_IDLE pool' if p >= 139 else 'xferd +10 pools' if p > tr.prio.get(loop, 120) else 'xferd other threads'
        c = tr.comm.get(tid, '?')
        if c == 'nginx':
            return 'nginx'
        if tid == 0 or c.startswith('swapper'):
            return 'idle'
        if re.match(r'(kworker|ksoftirqd|migration|rcu|kcompactd|kswapd|jbd2)', c):
            return 'kernel threads'
        return 'other sessions'

    def ran(cpu, a, b, into):
        """Adds to into what ran on cpu within [a, b]."""
        ts, occ = tr.on_cpu_t.get(cpu, []), tr.on_cpu.get(cpu, [])
        i = bisect.bisect_right(ts, a) - 1
        t = a
        while t < b:
            tid = occ[i][1] if i >= 0 else 0
            end = min(ts[i + 1] if i + 1 < len(ts) else b, b)
            into[kind(tid)] += max(0.0, end - t)
            t = end
            i += 1

    def states(tid):
        """(start, end, cpu) of every wait for a CPU: woken or preempted, until switched in."""
        ev = [(t, 'in', c) for t, c, p, s, n in tr.switches if n == tid]
        ev += [(t, 'preempted' if s.startswith('R') else 'slept', c) for t, c, p, s, n in tr.switches if p == tid]
        ev += [(t, 'woken', c) for t, c in tr.wakeups.get(tid, [])]
        ev.sort()
        out, start, cpu = [], None, None
        for t, k, c in ev:
            if k in ('preempted', 'woken') and start is None:
                start, cpu = t, c
            elif k == 'in' and start is not None:
                out.append((start, t, cpu))
                start = None
            elif k == 'slept':
                start = None
        return out

    waits = {name: states(tid) for name, tid in (('bench client', client), ('bench bus', bus), ('xferd loop', loop))}
    waits['xferd unlink worker'] = sorted(w for tid in workers for w in states(tid))

    def waited(name, a, b):
        return sum(max(0.0, min(e, b) - max(s, a)) for s, e, _ in waits[name] if e > a and s < b)

    checkpoints = collections.defaultdict(list)  # worker -> [(start, end)] of store checkpoints
    for t, tid in tr.probes['wal_checkpoint_run']:
        e = next((u for u, v in tr.probes['wal_checkpoint_run__return'] if v == tid and u > t), t)
        checkpoints[tid].append((t, e))

    rows = []
    for x1 in cancels:
        c0 = before(tr.sends[client], x1)
        b0 = after(tr.sends[bus], c0)
        x5 = after(P['pending_reply_done'], x1)
        x6 = after(loop_sends, x5)
        b1 = after(tr.sends[bus], x6)
        c1 = after(tr.received[client], b1)
        if None in (c0, b0, x5, x6, b1, c1):
            continue
        x3, x4 = after(P['batch_unlink'], x1), after(P['on_job_unlinked'], x1)
        disp = [e - s for s, e in io if e > b0 and s < x1]
        # The worker that ran the unlinks: a checkpoint it started after the handler came first.
        wt = next((tid for t, tid in tr.probes['batch_unlink'] if t == x3), None)
        behind = [e - s for s, e in checkpoints.get(wt, []) if x1 <= s < (x3 or 0)]
        # The worker done, the loop elsewhere until it took the result.
        x35 = next((t for t, tid in tr.probes['batch_run__return'] if tid == wt and t > (x3 or 0)), None)
        late = [min(e, x4) - max(s, x35) for s, e in io if x35 and x4 and e > x35 and s < x4]
        rows.append(dict(
            t=c0, total=c1 - c0,
            client_bus=b0 - c0, client_bus_wait=waited('bench bus', c0, b0),
            bus_handler=x1 - b0, bus_handler_wait=waited('xferd loop', b0, x1), dispatches=len(disp),
            longest_dispatch=max(disp, default=0.0),
            handler_reply=x6 - x1, handler_reply_wait=waited('xferd loop', x1, x6),
            worker=(x4 - x3) if x3 and x4 else 0.0, worker_wait=waited('xferd unlink worker', x1, x6),
            behind_checkpoint=sum(behind), result_late=(x4 - x35) if x35 and x4 and x4 > x35 else 0.0,
            late_dispatch=max(late, default=0.0),
            reply_bus=b1 - x6, reply_bus_wait=waited('bench bus', x6, b1),
            bus_client=c1 - b1, bus_client_wait=waited('bench client', b1, c1)))
    if not rows:
        raise SystemExit('cancel-hops: no Cancel could be followed through the trace')

    def current(cpu, t):
        i = bisect.bisect_right(tr.on_cpu_t.get(cpu, []), t) - 1
        return tr.on_cpu[cpu][i][1] if i >= 0 else 0

    # The virtual machine's stops: neither CPU sampled for over a millisecond while a task
    # ran on one of them (both idle would explain a gap too, on a quiet machine).
    stops = []
    if tr.samples:
        allt = sorted(t for v in tr.samples.values() for t in v)
        stops = [(a, b) for a, b in zip(allt, allt[1:])
                 if b - a > 0.001 and any(current(c, a) != 0 for c in tr.on_cpu)]
    for r in rows:
        r['vm_stopped'] = sum(max(0.0, min(b, r['t'] + r['total']) - max(a, r['t'])) for a, b in stops)

    ms = lambda v: '%.2f' % (v * 1000)
    n = len(rows)
    print('xferd %d (loop %d), bench client %d, its dbus-daemon %d; %d Cancels followed of %d' %
          (xferd, loop, client, bus, n, len(cancels)))
    tot = sorted(r['total'] for r in rows)
    p = lambda q: tot[min(n - 1, max(0, int(q * n + 0.999999) - 1))]
    print('call → reply (ms): p50 %s, p90 %s, p99 %s, max %s' % (ms(p(.5)), ms(p(.9)), ms(p(.99)), ms(tot[-1])))
    hops = ('client_bus', 'bus_handler', 'handler_reply', 'reply_bus', 'bus_client')
    names = {'client_bus': 'client → bus', 'bus_handler': 'bus → handler', 'handler_reply': 'handler → reply',
             'reply_bus': 'reply → bus', 'bus_client': 'bus → client'}
    print('\nhop              median   p99 of the hop   share of all Cancels\' time (of it waiting for a CPU)')
    all_time = sum(r['total'] for r in rows)
    for h in hops:
        v = sorted(r[h] for r in rows)
        print('%-16s %6s   %6s           %4.0f %% (%4.0f %%)' % (
            names[h], ms(statistics.median(v)), ms(v[min(n - 1, int(.99 * n))]),
            100 * sum(r[h] for r in rows) / all_time, 100 * sum(r[h + '_wait'] for r in rows) / all_time))
    slow = sorted(rows, key=lambda r: -r['total'])
    print('\nthe %d slowest (ms; in brackets the wait for a CPU of the task the hop waits for; curl '
          'dispatches while the call waited: count/longest; in handler → reply the unlinks\' start to '
          'their result on the loop, a store checkpoint ahead of them, the result\'s wait for the loop; '
          'the VM stopped)' % min(args.rows, n))
    for r in slow[:args.rows]:
        print('%7s = %s (%s) + %s (%s; %d/%s) + %s (%s; worker %s, checkpoint %s, late %s) + %s (%s) + %s (%s); '
              'VM stopped %s' % (
                  ms(r['total']), ms(r['client_bus']), ms(r['client_bus_wait']), ms(r['bus_handler']),
                  ms(r['bus_handler_wait']), r['dispatches'], ms(r['longest_dispatch']), ms(r['handler_reply']),
                  ms(r['handler_reply_wait']), ms(r['worker']), ms(r['behind_checkpoint']), ms(r['result_late']),
                  ms(r['reply_bus']), ms(r['reply_bus_wait']), ms(r['bus_client']), ms(r['bus_client_wait']),
                  ms(r['vm_stopped'])))
    k = sum(1 for r in rows if r['dispatches'])
    print('\nthe call waited for a curl dispatch of the loop in %d of %d Cancels (the longest such dispatch %s ms)' %
          (k, n, ms(max(r['longest_dispatch'] for r in rows))))
    all_cp = [e - s for v in checkpoints.values() for s, e in v]
    behind = [r['behind_checkpoint'] for r in rows if r['behind_checkpoint']]
    print('store checkpoints in the trace: %d (the longest %s ms); the unlinks waited behind one on their '
          'worker in %d Cancels (%s ms)' % (len(all_cp), ms(max(all_cp, default=0)), len(behind),
                                            ', '.join(ms(v) for v in sorted(behind, reverse=True)[:5]) or '-'))
    late = sorted(r['result_late'] for r in rows)
    kd = [r['late_dispatch'] for r in rows if r['late_dispatch'] > 0]
    print('the unlinks done, the loop took their result after (ms): p50 %s, p99 %s, max %s; a curl dispatch in '
          'between in %d Cancels (the longest %s ms)' % (ms(late[n // 2]), ms(late[min(n - 1, int(.99 * n))]),
                                                         ms(late[-1]), len(kd), ms(max(kd, default=0))))

    # Who held the CPU each task of the path waited for, during the Cancels.
    windows = sorted((r['t'], r['t'] + r['total']) for r in rows)
    starts = [a for a, _ in windows]
    print('\nwaits for a CPU during the Cancels, and what ran on that CPU meanwhile (ms):')
    for name, ws in waits.items():
        held, total = collections.Counter(), 0.0
        for s, e, cpu in ws:
            i = bisect.bisect_right(starts, s) - 1
            if i < 0 or s >= windows[i][1]:
                continue
            a, b = s, min(e, windows[i][1])
            total += b - a
            ran(cpu, a, b, held)
        print('  %-20s %7s: %s' % (name, ms(total), ', '.join('%s %s' % (k, ms(v)) for k, v in held.most_common())))
    if tr.samples:
        span = max(max(v) for v in tr.samples.values()) - min(min(v) for v in tr.samples.values())
        print('\nthe VM stopped (no sample on either CPU for over 1 ms, a task on one) %d times in %.1f s, %s ms in all, the longest %s ms;'
              ' within Cancels: %s ms' % (len(stops), span, ms(sum(b - a for a, b in stops)),
                                         ms(max((b - a for a, b in stops), default=0)), ms(sum(r['vm_stopped'] for r in rows))))


if __name__ == '__main__':
    main()
