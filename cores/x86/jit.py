"""Compile options of the x86 core: why the helpers skip LLVM's module passes and
are compiled once per argument-type signature, not once per constant argument.

Numba links the LLVM modules of a function's callees into its own module and runs the
full module optimization over the result, so every compiled helper re-optimizes its
whole transitive callee closure: with ~100 linked helpers the cold compile grows as
(number of functions) x (closure size).  Only ``run`` is ever called from Python; the
machine code of the helpers' own libraries is never executed (each caller links their
IR).  So the helpers (``J``) keep Numba's per-function optimization but skip the
module passes of their final module; ``run`` (``JTOP``) gets the full module
optimization once, over the whole linked core, which is where the inlining across
helpers happens.  Only libraries compiled through ``_HelperCompiler`` are affected:
other cores and Numba's own functions are untouched, and ``cache=True`` works as
before (the cache stores the final object code, however it was optimized).
"""
from numba.core import codegen as _codegen, dispatcher as _dispatcher, types as _types
from numba.core.compiler import Compiler


class _HelperCompiler(Compiler):
    """Numba's pipeline, with a library tagged to skip the final module passes."""

    def compile_extra(self, func):
        lib = self.state.targetctx.codegen().create_library(func.__qualname__)
        lib.enable_object_caching()
        lib._emu_no_module_opt = True
        self.state.library = lib
        return super().compile_extra(func)


_orig_optimize = _codegen.CPUCodeLibrary._optimize_final_module


def _optimize_final_module(self):
    if getattr(self, "_emu_no_module_opt", False):
        return
    _orig_optimize(self)


_optimize_final_module._emu = True
if not getattr(_orig_optimize, "_emu", False):           # patch once
    _codegen.CPUCodeLibrary._optimize_final_module = _optimize_final_module


# ---- one compiled version per helper, not one per constant argument ---------------------
# Numba types a constant argument of a call between compiled functions as a Literal and
# compiles the callee once per distinct constant (raise_exc had 16 versions, seg_ok 15,
# rdm 13, gate_int 8, each with its callee closure), which multiplied the cold compile.
# The helpers are typed on the plain types of their arguments instead.
_orig_call_template = _dispatcher.Dispatcher.get_call_template


def _get_call_template(self, args, kws):
    if getattr(self._compiler, "pipeline_class", None) is _HelperCompiler:
        args = tuple(_types.unliteral(a) for a in args)
        kws = {k: _types.unliteral(v) for k, v in kws.items()}
    return _orig_call_template(self, args, kws)


_get_call_template._emu = True
if not getattr(_orig_call_template, "_emu", False):
    _dispatcher.Dispatcher.get_call_template = _get_call_template


J = dict(cache=True, _nrt=False, pipeline_class=_HelperCompiler)
JI = dict(cache=True, _nrt=False, inline="always")   # small hot helpers
JTOP = dict(cache=True, _nrt=False)                 # called from Python: fully optimized
