"""``emu vmm``: run VMs side by side, list them, control them.

    emu vmm run machines/vm/trio.yaml --stats          CP/M + two PM OS instances
    emu vmm run roms_test/os/os.img cpm.yaml --console tcp
    emu vmm ps                                         every running VMM's VMs
    emu vmm sensitive [--cpu strict]                   the sensitive-instruction checker
    emu vmm pause pmos-a | resume | reset NAME | save NAME FILE | restore NAME FILE
    emu vmm run --incoming 4444; emu vmm migrate pmos 127.0.0.1:4444   live migration
    emu vmm table                                      the OS's benchmarks across the spectrum

While ``emu vmm run`` runs, lines typed on its standard input go to one VM's
console (``@NAME`` picks which) and ``/CMD`` lines are monitor commands
(``/ps``, ``/pause NAME``, ``/resume NAME``, ``/reset NAME``, ``/save NAME FILE``,
``/restore NAME FILE``, ``/quit``).
"""
from __future__ import annotations

import os
import select
import sys
import time

from ..errors import EmuError

MODES_HELP = ("emulate (every guest instruction through the VMM's model of the guest CPU), "
              "trap (the guest kernel deprivileged on the host CPU: trap-and-emulate), "
              "bt (binary translation into a translation cache), "
              "hw (VT-x-style hardware assist)")


def add_parser(sub) -> None:
    p = sub.add_parser("vmm", help="the virtual machine monitor: several VMs on one host CPU",
                       description=__doc__.split("\n\n")[0])
    vs = p.add_subparsers(dest="vmm_cmd", required=True)
    r = vs.add_parser("run", help="run VMs (VM descriptions, scenarios or disk images) at once")
    r.add_argument("targets", nargs="*", metavar="VM.yaml|SCENARIO.yaml|IMAGE")
    r.add_argument("--incoming", metavar="[HOST:]PORT",
                   help="accept VMs migrated live to this VMM on this TCP port (emu vmm migrate)")
    r.add_argument("--mode", help=f"run every VM in this mode: {MODES_HELP}")
    r.add_argument("--cpu", choices=("default", "strict"), default=None,
                   help="the host CPU of mode trap: the real x86, on which the VMM reports the "
                        "first sensitive instruction that misbehaves (default), or the strict, "
                        "virtualizable model")
    r.add_argument("--accel", choices=("model", "kvm"), default="model",
                   help="mode hw: the x86 core's VT-x model (default) or the host's real VT-x "
                        "through /dev/kvm (the VMs of mode hw run in mode kvm)")
    r.add_argument("--paging", choices=("nested", "shadow"), default="nested",
                   help="mode hw: nested paging (EPT, the default) or the VMM's shadow page tables")
    r.add_argument("--seconds", type=float, help="stop after this many host seconds")
    r.add_argument("--stats", action="store_true", help="print per-VM host time, guest MIPS, "
                   "world switches and exits by reason at the end")
    r.add_argument("--console", choices=("log", "tcp", "none"), default="log",
                   help="VM consoles: lines on stdout prefixed with the VM name (log), a TCP "
                        "port per VM on 127.0.0.1 (tcp), or not shown (none)")
    r.add_argument("--console-port", type=int, default=0, metavar="PORT",
                   help="first TCP port for --console tcp (default: free ports)")
    r.add_argument("--type", action="append", default=[], metavar="VM:TEXT",
                   help="type TEXT on VM's console at start (\\r for Return)")
    r.add_argument("--weight", action="append", default=[], metavar="VM=N", help="fair-share weight")
    r.add_argument("--cap", action="append", default=[], metavar="VM=PCT", help="host CPU cap, percent")
    r.add_argument("--host-ram", metavar="SIZE", help="host physical memory (default 256M)")
    r.add_argument("--unthrottled", action="store_true",
                   help="do not pace guests to real time (as fast as the host goes)")
    r.add_argument("--deterministic", action="store_true",
                   help="end every slice on a 1 ms grid of emulated time: a guest's run does not "
                        "depend on how the host sliced it (the same inputs, the same output, "
                        "migrated or not)")
    r.add_argument("--until", action="append", default=[], metavar="VM:TEXT",
                   help="stop once VM's console has printed TEXT (all of them, if repeated)")
    vs.add_parser("ps", help="list the VMs of every running VMM")
    from .table import add_parser as add_table
    add_table(vs)
    c = vs.add_parser("sensitive", help="which x86 instructions trap, misbehave or are innocuous "
                      "when a guest kernel runs deprivileged (trap-and-emulate)")
    c.add_argument("--cpu", choices=("default", "strict"), default="default",
                   help="the host CPU: the real x86 (default) or the strict, virtualizable model")
    c.add_argument("--mode", choices=("trap", "hw"), default="trap",
                   help="the guest deprivileged for trap-and-emulate (trap) or in VT-x-style "
                        "non-root operation at its own ring 0 (hw)")
    for cmd in ("pause", "resume", "reset"):
        c = vs.add_parser(cmd, help=f"{cmd} one VM of a running VMM")
        c.add_argument("vm")
        c.add_argument("--pid", type=int, help="the VMM's process id (when several run)")
    c = vs.add_parser("migrate", help="move a running VM live to another VMM (started with "
                      "`emu vmm run --incoming PORT`): pre-copy rounds of dirty pages, then stop-and-copy")
    c.add_argument("vm")
    c.add_argument("to", metavar="HOST:PORT")
    c.add_argument("--pid", type=int, help="the source VMM's process id (when several run)")
    for cmd in ("save", "restore"):
        c = vs.add_parser(cmd, help=f"{cmd} one VM's state (a file; atomic)")
        c.add_argument("vm")
        c.add_argument("path")
        c.add_argument("--pid", type=int, help="the VMM's process id (when several run)")


def main(args) -> int:
    if args.vmm_cmd == "run":
        return cmd_run(args)
    if args.vmm_cmd == "ps":
        return cmd_ps(args)
    if args.vmm_cmd == "table":
        from .table import main as table
        return table(args)
    if args.vmm_cmd == "migrate":
        return cmd_migrate(args)
    if args.vmm_cmd == "sensitive":
        from .sensitive import classify, table
        rows = classify(strict=args.cpu == "strict", mode=args.mode)
        print(table(rows, "VMX non-root ring 0 (mode hw)" if args.mode == "hw" else "deprivileged ring 1"))
        return 0
    return cmd_control(args)


# ---- helpers ------------------------------------------------------------------------
def _pairs(items, sep, what):
    out = {}
    for it in items:
        name, s, val = it.partition(sep)
        if not s or not name:
            raise EmuError(f"{what} {it!r}: expected VM{sep}VALUE")
        out[name] = val
    return out


def _size(text):
    from ..config import _Ctx
    return _Ctx("--host-ram").int_(text, "--host-ram", 1 << 20, 1 << 34)


def fmt_stats(st) -> str:
    """The --stats / ps table."""
    rows = [(f"{'VM':12s} {'machine':8s} {'mode':8s} {'status':8s} {'w':>3s} {'host s':>7s} "
             f"{'guest s':>8s} {'Minsns':>8s} {'MIPS':>6s} {'switch':>6s} {'MiB':>5s}  exits by reason")]
    for v in st["vms"]:
        exits = ", ".join(f"{k} {n}" for k, n in sorted(v["exits"].items(), key=lambda kv: -kv[1]))
        rows.append(f"{v['name']:12s} {v['machine']:8s} {v['mode']:8s} {v['status']:8s} "
                    f"{v['weight']:3d} {v['host_time']:7.2f} {v['guest_time']:8.2f} "
                    f"{v['insns'] / 1e6:8.2f} {v['mips']:6.2f} {v['switches']:6d} "
                    f"{v['frames'] * 4096 / (1 << 20):5.1f}  {exits or '-'}")
    n = st["switches"]
    k = st["slices"]
    rows.append(f"host: {st['wall']:.1f} s wall, {k} slices ({st['overhead'] / k * 1e6 if k else 0:.1f} us "
                f"of VMM each), {n} world switches ({st['switch_time'] / n * 1e6 if n else 0:.1f} us each), "
                f"idle {st['idle_time']:.2f} s, "
                f"{st['free_frames'] * 4096 >> 20} of {st['host_ram'] >> 20} MiB host memory free")
    for v in st["vms"]:
        rows.extend(fmt_mode_stats(v))
    return "\n".join(rows)


def fmt_bt_z80(name: str, b: dict) -> str:
    """Mode bt (Z80 code translated into x86 code): the translation cache and callouts."""
    hit = f"{100 * b['hit_rate']:.2f}%" if b["hit_rate"] is not None else "-"
    ops = ", ".join(f"{k} {n}" for k, n in sorted(b["interp_ops"].items(), key=lambda kv: -kv[1])[:6])
    return (f"{name}: bt (Z80 on x86): {b['blocks_translated']} blocks translated, cache "
            f"{b['tc_used']} of {b['tc_size']} bytes ({b['blocks_live']} blocks), hit rate {hit}, "
            f"{b['callouts_per_s']:.0f} callouts/s ({b['misses']} misses, {b['out']} OUT, {b['interp']} on the Z80 "
            f"model [{ops or '-'}], {b['smc']} code stores), {b['invalidations']} blocks invalidated, "
            f"{b['flushes']} flushes; {b['insns_translated_code']} instructions ran as x86 code")


def fmt_mode_stats(v) -> list:
    """Mode trap: the VMM's own exits per host second by reason, the share of guest
    instructions the host CPU ran itself, the shadows; the lockstep report."""
    ms = v.get("mode_stats") or {}
    if "bt_z80" in ms:                      # mode bt for a Z80 guest: its translation cache
        return [fmt_bt_z80(v["name"], ms["bt_z80"])]
    if "exits" not in ms:
        return []
    ht = v["host_time"] or 1e-9
    rates = ", ".join(f"{k} {n / ht:.0f}/s" for k, n in sorted(ms["exits"].items(), key=lambda kv: -kv[1]))
    mode = v["mode"] + (f" ({ms['paging']} paging)" if "paging" in ms else "")
    out = [f"{v['name']}: {mode} exits per second: {rates or '-'}"]
    if "kvm_runs" in ms:                    # mode kvm: the host's own VT-x
        out.append(f"{v['name']}: {ms['kvm_runs']} KVM_RUN calls, {ms['us_per_run']:.1f} us each, "
                   f"{ms['slots']} memory slots")
    if "hypercalls" in ms:                  # mode pv: hypercalls by number, ring notifications
        out.extend(fmt_pv_stats(v["name"], ms, ht))
        return out
    if "native_insns" not in ms:
        return out
    n = ms["native_insns"] + ms["emulated_insns"]
    native = 100.0 * ms["native_insns"] / n if n else 0.0
    line = (f"{v['name']}: {native:.1f}% of the guest instructions it ran on the host CPU "
            f"(the rest the VMM emulated)")
    sh = ms.get("shadow")
    if sh is not None:
        line += (f"; shadows: {ms['spaces']} directories, {ms['shadow_frames']} frames, {ms['tracked']} "
                 f"pages write-protected, {sh.get('hidden', 0)} hidden faults, {sh.get('guest', 0)} "
                 f"guest faults, {sh.get('pt-update', 0)} page-table updates")
    out.append(line)
    bt = ms.get("bt")
    if bt:                                  # mode bt (x86): the translation cache
        out.append(f"{v['name']}: bt: {bt['blocks']} blocks translated, cache {bt['tc_bytes']} of "
                   f"{bt['tc_size']} bytes ({bt['cached_blocks']} blocks), hit rate "
                   f"{100 * bt['hit_rate']:.1f}%, {bt['chained']} exits chained, "
                   f"{bt['callouts_per_s']:.0f} callouts/s ("
                   + (", ".join(f"{k} {n}" for k, n in bt["callout_by_insn"].items()) or "-")
                   + f"), {bt['invalidations']} blocks invalidated, {bt['flushes']} flushes")
    r = ms.get("report")
    if r:
        out.append(f"{v['name']}: first misbehaving sensitive instruction: {r['instruction']} at "
                   f"{r['cs']:04X}:{r['eip']:08X} ({r['bytes']}), after {r['insns']} guest instructions: "
                   f"{r['difference']} (guest's own CPU vs deprivileged)")
    return out


def fmt_pv_stats(name, ms, ht) -> list:
    """Mode pv: hypercalls per host second by number, ring notifications and events."""
    from .pv_abi import HC_NAMES
    num = {n: i for i, n in enumerate(HC_NAMES)}

    def rates(d):
        return ", ".join(f"{k} {n / ht:.0f}/s" for k, n in d.items()) or "-"
    hc = ", ".join(f"{num.get(k, '-')} {k} {n / ht:.0f}/s"
                   for k, n in sorted(ms["hypercalls"].items(), key=lambda kv: -kv[1]))
    carried = ", ".join(f"{k} {n}" for k, n in ms["ring_bytes"].items())
    sh = ms["shadow"]
    return [f"{name}: hypercalls per second by number: {hc or '-'}",
            (f"{name}: ring notifications (guest to VMM): {rates(ms['notifications'])}; events "
             f"(VMM to guest): {rates(ms['events'])}; {carried}"),
            (f"{name}: shadows: {ms['spaces']} directories, {ms['shadow_frames']} frames, none write-protected, "
             f"{sh.get('hidden', 0)} hidden faults, {sh.get('guest', 0)} guest faults, "
             f"{sh.get('pt-update', 0)} reported page-table pages brought in step")]


class ConsoleLog:
    """--console log: each VM's console output on stdout, a line at a time, prefixed."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.partial = {}

    def __call__(self, vmm, vm):
        if vm is None:
            return
        data = vm.console.new_output()
        if not data:
            return
        text = self.partial.get(vm.name, "") + data.decode("latin-1").replace("\r", "")
        *lines, rest = text.split("\n")
        self.partial[vm.name] = rest
        for line in lines:
            self.out.write(f"{vm.name:>8s} | {line}\n")
        self.out.flush()

    def finish(self, vmm):
        """At the end: what is left, and the lines still open (a prompt)."""
        for vm in vmm.vms:
            self(vmm, vm)
            rest = self.partial.pop(vm.name, "")
            if rest:
                self.out.write(f"{vm.name:>8s} | {rest}\n")
        self.out.flush()


class Events:
    """What the VMM logs of a VM (stopped, triple fault, the first misbehaving
    sensitive instruction), on stderr as it happens, whatever the console."""

    def __init__(self, out=None):
        self.out = out or sys.stderr
        self.seen = {}

    def __call__(self, vmm, vm):
        if vm is None:
            return
        log = vm.machine.log
        n = self.seen.get(vm.name, 0)
        if len(log) < n:                       # (the log was trimmed)
            n = 0
        for line in log[n:]:
            self.out.write(f"emu: vmm: {line}\n")
        self.seen[vm.name] = len(log)


class ConsoleTcp:
    """--console tcp: a TCP port per VM console (telnet/nc 127.0.0.1 PORT)."""

    def __init__(self, vms, first_port=0):
        from ..chardev import TcpBackend
        self.ends = {}
        for i, vm in enumerate(vms):
            port = first_port + i if first_port else 0
            self.ends[vm.name] = TcpBackend("127.0.0.1", port, f"tcp:127.0.0.1:{port}")
            sys.stderr.write(f"emu: {vm.name}: console on 127.0.0.1:{self.ends[vm.name].port}\n")

    def __call__(self, vmm, vm):
        for v in vmm.vms:
            end = self.ends.get(v.name)
            if end is None:
                continue
            end.poll()
            data = bytes(end.input)
            end.input.clear()
            if data:
                try:
                    v.console.feed(data)
                except EmuError:
                    pass
            out = v.console.new_output()
            if out:
                end.write(out)
            end.flush()

    def close(self):
        for e in self.ends.values():
            e.close()


class Monitor:
    """Standard input: console lines for the focused VM, ``/`` monitor commands."""

    def __init__(self, vmm):
        self.vmm = vmm
        self.focus = next((v.name for v in vmm.vms if v.console.dev is not None), None)
        self.buf = b""
        self.quit = False
        self.fd = sys.stdin.fileno() if sys.stdin and not sys.stdin.closed else None

    def __call__(self, vmm, vm):
        if self.fd is None:
            return
        try:
            r, _, _ = select.select([self.fd], [], [], 0)
        except (OSError, ValueError):
            self.fd = None
            return
        if not r:
            return
        data = os.read(self.fd, 4096)
        if not data:
            self.fd = None
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.line(line.decode("latin-1").rstrip("\r"))

    def line(self, text):
        try:
            if text.startswith("@"):
                self.focus = self.vmm.get(text[1:].strip()).name
                sys.stderr.write(f"emu: typing goes to {self.focus}\n")
            elif text.startswith("/"):
                cmd, *rest = text[1:].split()
                if cmd == "quit":
                    self.quit = True
                elif cmd == "ps":
                    sys.stdout.write(fmt_stats(self.vmm.stats()) + "\n")
                elif cmd in ("pause", "resume", "reset") and len(rest) == 1:
                    getattr(self.vmm.get(rest[0]), cmd)()
                elif cmd in ("save", "restore") and len(rest) == 2:
                    getattr(self.vmm.get(rest[0]), cmd)(rest[1])
                else:
                    raise EmuError(f"/{cmd}: monitor commands are /ps, /pause VM, /resume VM, "
                                   "/reset VM, /save VM FILE, /restore VM FILE, /quit")
            elif self.focus:
                self.vmm.get(self.focus).console.feed((text + "\r").encode("latin-1"))
        except EmuError as e:
            sys.stderr.write(f"emu: {e}\n")


# ---- commands ----------------------------------------------------------------------
def cmd_run(args) -> int:
    from .control import ControlServer
    from .spec import load_any, unique_names
    from .vmm import DEFAULT_HOST_RAM, VMM
    specs, host_ram, host_cpu = [], None, None
    if not args.targets and not args.incoming:
        raise EmuError("emu vmm run: name the VMs to run (VM files, scenarios, images), or --incoming PORT")
    for t in args.targets:
        sc = load_any(t)
        host_ram = host_ram or sc.host_ram
        host_cpu = host_cpu or sc.host_cpu
        specs += sc.vms
    unique_names(specs)
    weights = _pairs(args.weight, "=", "--weight")
    caps = _pairs(args.cap, "=", "--cap")
    names = {s.name for s in specs}
    for opt, table in (("--weight", weights), ("--cap", caps)):
        for n in table:
            if n not in names:
                raise EmuError(f"{opt} {n}: no VM of that name (VMs: {', '.join(sorted(names))})")
    for s in specs:
        if s.name in weights:
            if not weights[s.name].isdigit() or int(weights[s.name]) < 1:
                raise EmuError(f"--weight {s.name}={weights[s.name]}: a weight is a whole number >= 1")
            s.weight = int(weights[s.name])
        if s.name in caps:
            c = caps[s.name].rstrip("%")
            if not c.isdigit() or int(c) > 100:
                raise EmuError(f"--cap {s.name}={caps[s.name]}: a cap is a percentage 0-100")
            s.cap = float(c)
    if args.host_ram:
        host_ram = _size(args.host_ram)
    mode = args.mode
    if args.accel == "kvm":                 # hardware assist by the host's own VT-x
        mode = "kvm" if mode == "hw" else mode
        for s in specs:
            s.mode = "kvm" if s.mode == "hw" else s.mode
    vmm = VMM(host_ram or DEFAULT_HOST_RAM, paced=not args.unthrottled, mode=mode,
              host_cpu=args.cpu or host_cpu or "default", paging=args.paging,
              grid=0.001 if args.deterministic else 0.0)
    ctl = tcp = incoming = None
    try:
        for s in specs:
            vmm.add(s)
        if args.incoming:
            from .migrate import Incoming
            incoming = Incoming(vmm, args.incoming)
            vmm.on_slice.append(incoming)
            sys.stderr.write(f"emu: vmm: waiting for VMs migrated to 127.0.0.1:{incoming.port}\n")
        for item in args.type:
            name, _, text = item.partition(":")
            vmm.get(name).console.feed(text.encode().decode("unicode_escape").encode("latin-1"))
        until = []
        for item in args.until:
            name, _, text = item.partition(":")
            if not incoming:
                vmm.get(name)
            until.append((name, text.encode()))    # (a VM that may yet arrive)

        def seen(name, text):
            vm = next((v for v in vmm.vms if v.name == name), None)
            return vm is not None and text in vm.console.output
        vmm.on_slice.append(Events())
        if args.console == "log":
            vmm.on_slice.append(ConsoleLog())
        elif args.console == "tcp":
            tcp = ConsoleTcp(vmm.vms, args.console_port)
            vmm.on_slice.append(tcp)
        monitor = Monitor(vmm) if args.console != "tcp" and sys.stdin.isatty() else None
        if monitor:
            vmm.on_slice.append(monitor)
        ctl = ControlServer(vmm)
        last = [0.0]

        def serve(v, vm):
            now = time.monotonic()
            if now - last[0] > 0.02:
                last[0] = now
                ctl.poll()
        vmm.on_slice.append(serve)

        def done(v):
            if monitor and monitor.quit:
                return True
            if v.vms and all(vm.status == "stopped" for vm in v.vms):    # (as QEMU ends when its guest does)
                return True
            if incoming and incoming.starting:  # (a VM's source waits for word that it runs here)
                return False
            if not v.vms and not incoming:      # every VM migrated away: once that was reported
                return all(m.reported or time.monotonic() - m.finished > 5.0 for m in v.migrations.values())
            return bool(until) and all(seen(name, text) for name, text in until)
        sys.stderr.write(f"emu: vmm: {len(vmm.vms)} VMs ({', '.join(v.name for v in vmm.vms)}); "
                         f"control socket {ctl.path}\n")
        try:
            ok = vmm.run_until(done, args.seconds if args.seconds else float("inf"))
        except KeyboardInterrupt:
            ok = True
        for f in vmm.on_slice:
            if isinstance(f, ConsoleLog):
                f.finish(vmm)
        if args.stats:
            sys.stdout.write(fmt_stats(vmm.stats()) + "\n")
        if until and not ok:
            missing = [f"{name}:{text.decode()}" for name, text in until if not seen(name, text)]
            sys.stderr.write(f"emu: vmm: not seen within {args.seconds} s: {', '.join(missing)}\n")
            return 1
        return 0
    finally:
        if ctl:
            ctl.close()
        if incoming:
            incoming.close()
        if tcp:
            tcp.close()
        vmm.shutdown()


def _target(pid):
    from .control import running, runtime_dir
    socks = running()
    if pid is not None:
        p = runtime_dir() / f"vmm-{pid}.sock"
        if p not in socks:
            raise EmuError(f"no VMM with process id {pid} is running")
        return [p]
    if not socks:
        raise EmuError("no VMM is running (start one with `emu vmm run`)")
    return socks


def cmd_ps(args) -> int:
    from .control import request, running
    socks = running()
    if not socks:
        print("no VMM is running")
        return 0
    for p in socks:
        try:
            r = request(p, {"cmd": "ps"})
        except OSError as e:
            print(f"{p.name}: not answering ({e.strerror or e})")
            continue
        print(f"VMM pid {r['pid']}:")
        print(fmt_stats(r["stats"]))
    return 0


def _holding(vm: str, pid):
    """The control sockets of the running VMMs (or of VMM ``pid``) that run VM ``vm``."""
    from .control import request
    for p in _target(pid):
        try:
            r = request(p, {"cmd": "ps"})
        except OSError:
            continue
        if vm in {v["name"] for v in r["stats"]["vms"]}:
            yield p


def cmd_control(args) -> int:
    from .control import request
    req = {"cmd": args.vmm_cmd, "vm": args.vm}
    if args.vmm_cmd in ("save", "restore"):
        req["path"] = os.path.abspath(args.path)
    errors = []
    for p in _holding(args.vm, args.pid):
        r = request(p, req)
        if r.get("ok"):
            return 0
        errors.append(r.get("error", "failed"))
    raise EmuError(errors[0] if errors else f"no running VM named {args.vm!r}")


def cmd_migrate(args) -> int:
    """Start the migration through the source VMM's control socket, then follow it."""
    from .control import request
    from .migrate import fmt_status, parse_addr
    parse_addr(args.to)
    for p in _holding(args.vm, args.pid):
        r = request(p, {"cmd": "migrate", "vm": args.vm, "to": args.to}, timeout=120.0)
        if not r.get("ok"):
            raise EmuError(r.get("error", "migrate: failed"))
        shown = 0
        while True:
            try:
                st = request(p, {"cmd": "migrate-status", "vm": args.vm})["status"]
            except (OSError, ValueError, KeyError):
                raise EmuError(f"migrate {args.vm}: the source VMM stopped answering") from None
            rounds = st["rounds"]
            done = st["state"] not in ("precopy", "committing", "connecting")
            lines = fmt_status(st).splitlines()
            upto = len(lines) if done else max(shown, len(lines) - 1)
            for line in lines[shown:upto]:
                print(line, flush=True)
            shown = upto
            if done:
                break
            time.sleep(0.05)
        if st["state"] != "done":
            raise EmuError(f"migrate {args.vm}: {st['error']}")
        sent = sum(n for n, _ in rounds)
        print(f"migrated {args.vm} to {st['to']}: {len(rounds) - 1} pre-copy rounds + stop-and-copy, "
              f"{sent} pages ({sent * 4096 / (1 << 20):.1f} MiB of {st['ram'] / (1 << 20):.1f} MiB), "
              f"guest dirtying {st['dirty_rate'] / (1 << 20):.1f} MiB/s, "
              f"total {st['total']:.2f} s, downtime "
              f"{st['downtime'] * 1e3:.1f} ms")
        print("  downtime from the pause (ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in st["phases"].items())
              + f", first guest instruction {st['downtime'] * 1e3:.1f}")
        if st.get("cpu"):
            print("  CPU time on that path (ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in st["cpu"].items()))
        return 0
    raise EmuError(f"no running VM named {args.vm!r}")
