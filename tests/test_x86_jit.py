"""The x86 core's compile options (cores/x86/jit.py): a helper compiled without
machine code of its own says so when called from Python instead of crashing, and
the hot loops' Numba-inlined copies call hot copies of the helpers they use."""
import numpy as np
import pytest

from cores.x86 import alu, fast, jit, ops_regs, regs


def test_a_helper_called_from_python_raises_a_clear_error():
    with pytest.raises(RuntimeError, match=r"szp is compiled to run inside the x86 core's run\(\) only"):
        alu.szp(5, 1)
    with pytest.raises(RuntimeError, match="getr is compiled"):
        regs.getr(np.zeros(64, np.int64), 0, 2)


def test_hot_copies_are_numba_inlined_and_call_hot_copies():
    h = fast.incdec_reg                              # fast.py's copy of ops_regs.incdec_reg
    assert h is jit.hot(ops_regs.incdec_reg) and h is not ops_regs.incdec_reg
    assert h.targetoptions.get("inline") == "always"
    inner = h.py_func.__globals__["incdec_i"]        # the JI helper it calls: a hot copy too
    assert inner is jit.hot(ops_regs.incdec_i) and inner.targetoptions.get("inline") == "always"
    assert inner.py_func.__globals__["szp"] is jit.hot(alu.szp)
    # the originals are compiled once each and inlined by LLVM
    assert ops_regs.incdec_reg.targetoptions.get("inline", "never") == "never"
    assert ops_regs.incdec_reg.py_func.__globals__["incdec_i"] is ops_regs.incdec_i
