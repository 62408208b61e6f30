"""Compile options of the x86 core: why the helpers skip LLVM's module passes, are
compiled once per argument-type signature, not once per constant argument, and the
small ones are inlined by LLVM rather than by Numba outside the hot loops.

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
        lib._emu_always_inline = getattr(self, "_emu_inline", False)
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


# ---- no machine code for the helpers -------------------------------------------------------
# Each helper's library was also compiled to machine code: its own functions and every
# callee linked into it, a fifth of the cold compile, for code that never runs (``run``
# links their IR and emits its own).  A helper's library now gets a stub instead: its
# Python entry point (Numba's ``cpython`` wrapper) raises, and its environment global is
# there for Numba to fill.  The stub defines none of the helpers' own symbols, so the
# machine code of ``run`` (which holds its callees' code as weak definitions) never
# resolves to it.  The cache stores the stub's object code with the helper's IR, as before.
_orig_finalize_final = _codegen.CPUCodeLibrary._finalize_final_module


def _stub_module(real, name):
    from llvmlite import binding as ll
    msg = (f"{name} is compiled to run inside the x86 core's run() only, not from Python "
           f"(cores/x86/jit.py)").encode() + b"\0"
    # (as in Numba's own wrappers, the exception's symbol is the exception object)
    lines = ["@PyExc_RuntimeError = external global i8", "declare void @PyErr_SetString(ptr, ptr)",
             f'@.emu_msg = private constant [{len(msg)} x i8] c"' + "".join(f"\\{b:02X}" for b in msg) + '"']
    for gv in real.global_variables:
        if gv.name.startswith("_ZN08NumbaEnv") and not gv.is_declaration:
            lines.append(f'@"{gv.name}" = common global ptr null')
    for fn in real.functions:
        if fn.name.startswith("_ZN7cpython") and not fn.is_declaration and fn.linkage == ll.Linkage.external:
            lines += [f'define ptr @"{fn.name}"(ptr %c, ptr %a, ptr %k) {{',
                      "  call void @PyErr_SetString(ptr @PyExc_RuntimeError, ptr @.emu_msg)",
                      "  ret ptr null", "}"]
    mod = ll.parse_assembly("\n".join(lines))
    mod.triple, mod.data_layout = real.triple, real.data_layout
    return mod


def _finalize_final_module(self):
    if not getattr(self, "_emu_no_module_opt", False):
        return _orig_finalize_final(self)
    real = self._final_module
    self._final_module = _stub_module(real, self.name)
    try:
        _orig_finalize_final(self)
    finally:
        self._final_module = real


_finalize_final_module._emu = True
if not getattr(_orig_finalize_final, "_emu", False):
    _codegen.CPUCodeLibrary._finalize_final_module = _finalize_final_module


# ---- one compiled version per helper, not one per constant argument ---------------------
# Numba types a constant argument of a call between compiled functions as a Literal and
# compiles the callee once per distinct constant (raise_exc had 16 versions, seg_ok 15,
# rdm 13, gate_int 8, each with its callee closure), which multiplied the cold compile.
# The helpers are typed on the plain types of their arguments instead.
_orig_call_template = _dispatcher.Dispatcher.get_call_template


def _get_call_template(self, args, kws):
    if issubclass(getattr(self._compiler, "pipeline_class", None) or object, _HelperCompiler):
        args = tuple(_types.unliteral(a) for a in args)
        kws = {k: _types.unliteral(v) for k, v in kws.items()}
    return _orig_call_template(self, args, kws)


_get_call_template._emu = True
if not getattr(_orig_call_template, "_emu", False):
    _dispatcher.Dispatcher.get_call_template = _get_call_template


# ---- small helpers: inlined by LLVM, or by Numba in the hot loops ------------------------
# Numba's own inlining (``inline='always'``) copies the callee's IR into every call site
# before typing, so that each of ~550 call sites was typed, rebuilt into SSA and lowered
# again: 40% of the cold compile.  The small helpers (``JI``) are compiled once like
# the others instead, and their functions are marked ``alwaysinline``: LLVM's inliner
# puts them into their callers when ``run``'s module is optimized (cold compile of the
# whole core: 134 -> 81 s).  The hot loops (the fast paths in fast.py, fast32.py and
# run.py, execute's prefix loop, the REP loop) take Numba-inlined copies (``hot``),
# typed on the call site's constant arguments as before: with LLVM's inlining alone
# the fast paths measured 7-10% slower; with the copies, within 1-2% of before.
class _InlineHelperCompiler(_HelperCompiler):
    def compile_extra(self, func):
        self._emu_inline = True
        return super().compile_extra(func)


_orig_add_llvm_module = _codegen.CPUCodeLibrary.add_llvm_module


def _add_llvm_module(self, ll_module):
    if getattr(self, "_emu_always_inline", False):
        for fn in ll_module.functions:            # the function, not Numba's Python wrapper
            if not fn.is_declaration and fn.name.startswith("_ZN") and not fn.name.startswith("_ZN7cpython"):
                fn.add_function_attribute("alwaysinline")
    _orig_add_llvm_module(self, ll_module)


_add_llvm_module._emu = True
if not getattr(_orig_add_llvm_module, "_emu", False):
    _codegen.CPUCodeLibrary.add_llvm_module = _add_llvm_module


J = dict(cache=True, _nrt=False, pipeline_class=_HelperCompiler)
JI = dict(cache=True, _nrt=False, pipeline_class=_InlineHelperCompiler)   # small helpers
JH = dict(cache=True, _nrt=False, inline="always")   # the hot loops' own small helpers
JTOP = dict(cache=True, _nrt=False)                 # called from Python: fully optimized
_hot: dict = {}


def _hot_copy(fn):
    h = _hot.get(fn)
    if h is None:
        import types
        from numba import njit
        f = fn.py_func
        g = dict(f.__globals__)
        h = _hot[fn] = njit(**JH)(types.FunctionType(f.__code__, g, f.__name__, f.__defaults__,
                                                     f.__closure__))
        for k, v in f.__globals__.items():      # its own JI callees: hot copies too
            if getattr(getattr(v, "_compiler", None), "pipeline_class", None) is _InlineHelperCompiler:
                g[k] = _hot_copy(v)
    return h


def hot(*fns):
    """Numba-inlined (``JH``) copies of ``JI`` helpers for the hot loops, calling hot
    copies of the ``JI`` helpers they call in turn."""
    out = tuple(_hot_copy(fn) for fn in fns)
    return out[0] if len(out) == 1 else out
