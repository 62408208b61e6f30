"""`emu vmm table` on a reduced set: the CSV and the PNG are written, missing modes are
rows saying why, and the figures follow from each mode's design (exit counts, not speeds)."""
from __future__ import annotations

import csv
from types import SimpleNamespace

from emu.vmm import table


def test_reduced_table(tmp_path, capsys, monkeypatch):
    args = SimpleNamespace(benches="inout,compute", rows="emulate,trap,pv,bt", count=None,
                           csv=tmp_path / "t.csv", png=tmp_path / "t.png")
    monkeypatch.setitem(table.COUNTS, "inout", 400)
    monkeypatch.setitem(table.COUNTS, "compute", 40000)
    assert table.main(args) == 0
    out = capsys.readouterr().out
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    by = {(r["mode"], r["bench"]): r for r in rows}
    for mode in ("bare", "emulate", "trap"):
        for b in ("inout", "compute"):
            r = by[(mode, b)]
            assert int(r["ops"]) == {"inout": 400, "compute": 40000}[b]
            assert float(r["ns_per_op"]) and r["slowdown"]
    assert float(by[("bare", "inout")]["slowdown"]) == 1.0
    # one port access per operation leaves every kind of CPU for the device model
    for mode in ("bare", "emulate", "trap"):
        assert 0.9 <= float(by[(mode, "inout")]["exits_per_op"]) <= 3.0
    # trap-and-emulate: IN/OUT at ring 1 with IOPL 0 trap (#GP), at least one exit each
    assert float(by[("trap", "inout")]["exits_per_op"]) >= 1.0
    # a compute loop at ring 3 never leaves the host CPU
    assert float(by[("trap", "compute")]["exits_per_op"]) < 0.01
    for mode in ("pv", "bt"):                  # registered or not, they are rows
        r = [x for x in rows if x["mode"] == mode]
        assert r and (r[0]["status"].startswith("not available: ") or r[0]["ns_per_op"])
        if r[0]["status"]:
            assert f"{mode}" in out and "not available: " in out
    assert args.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and args.png.stat().st_size > 2000
