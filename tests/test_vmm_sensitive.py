"""`emu vmm sensitive`: the sensitive-instruction checker finds Robin & Irvine's set
(USENIX Security 2000) on the default x86 by running each form bare at ring 0 and
deprivileged at ring 1 with the VMM's shadow structures, and finds none left on
the strict (Popek-Goldberg-virtualizable) host CPU."""
import subprocess
import sys

import pytest

pytest.importorskip("cores.x86")
from emu.vmm.sensitive import classify, families
from tests.conftest import ROOT

ROBIN_IRVINE = ["SGDT", "SIDT", "SLDT", "SMSW", "PUSHF", "POPF", "LAR", "LSL", "VERR", "VERW",
                "PUSH Sreg", "POP Sreg", "MOV Sreg", "far CALL", "far JMP", "far RET", "INT n", "STR"]
PRIVILEGED = ["CLI", "STI", "HLT", "LGDT", "LIDT", "LLDT", "MOV CRn", "INVLPG", "CLTS", "LMSW",
              "MOV DRn", "RDMSR", "WBINVD", "IN/OUT"]
CONTROLS = ["ADD", "MOV r, m", "PUSH r", "CPUID", "NOP"]


@pytest.fixture(scope="module")
def default():
    return classify(strict=False)


def test_robin_and_irvines_set_is_sensitive_on_the_default_cpu(default):
    fam = families(default)
    for name in ROBIN_IRVINE:
        assert fam[name] == "sensitive", (name, [r for r in default if r["family"] == name])
    for r in default:                        # each difference is spelled out
        if r["kind"] == "sensitive":
            assert r["difference"]


def test_privileged_instructions_trap_and_controls_are_innocuous(default):
    fam = families(default)
    assert all(fam[n] == "privileged" for n in PRIVILEGED), fam
    assert all(fam[n] == "innocuous" for n in CONTROLS), fam


def test_on_the_strict_cpu_no_sensitive_instruction_remains():
    rows = classify(strict=True)
    fam = families(rows)
    assert not [r for r in rows if r["kind"] == "sensitive"]
    assert all(fam[n] == "privileged" for n in ROBIN_IRVINE + PRIVILEGED)
    assert all(fam[n] == "innocuous" for n in CONTROLS)


def test_the_strict_cpu_changes_nothing_at_ring_0(default):
    assert classify(strict=False, bare_strict=True) == default


def test_cli_prints_the_table():
    r = subprocess.run([sys.executable, "-m", "emu", "vmm", "sensitive", "--cpu", "strict"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("sensitive but unprivileged: none")
    assert "SGDT [EBX]" in r.stdout and "traps to the VMM (#GP)" in r.stdout
