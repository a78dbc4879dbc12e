"""Why the control's Python packages do not import, and what fixes it.

The real control needs pykiwoom (which imports pandas and pywin32's pythoncom) and PyQt5's
QAxContainer. Their failures are not only ImportError: pandas 2.0.3 (the newest 32-bit Windows
wheel for CPython 3.11) raises ``ValueError: numpy.dtype size changed`` under numpy 2, and a DLL of
the wrong bitness raises ImportError with "DLL load failed". Each is turned into one sentence
that names the fix.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

#: what the real control imports, in the order a failure is most telling
CONTROL_MODULES = ("PyQt5.QAxContainer", "pykiwoom")
GATEWAY_EXTRA = '"kxrules[gateway]"'
INSTALL_FIX = f"pip install {GATEWAY_EXTRA} (in the 32-bit Python)"
REINSTALL_FIX = f"pip install --force-reinstall {GATEWAY_EXTRA} (in the 32-bit Python)"

_NUMPY_ABI = ("numpy.dtype size changed", "numpy.core.multiarray failed to import",
              "_ARRAY_API not found", "compiled using NumPy 1.x cannot be run in NumPy 2")

Importer = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class ImportProblem:
    module: str
    error: str          # "ValueError: numpy.dtype size changed, ..."
    fix: str

    def sentence(self) -> str:
        return f"{self.module} does not import ({self.error}); fix: {self.fix}"


def fix_for(module: str, exc: BaseException) -> str:
    """The fix an operator should apply for ``exc`` raised by importing ``module``."""
    text = str(exc)
    if any(marker in text for marker in _NUMPY_ABI):
        return ("pip install 'numpy<2' (pandas 2.0.3, the newest 32-bit Windows pandas, "
                "is built for numpy 1.x)")
    if "DLL load failed" in text:
        return f"a package of the wrong bitness or a missing Visual C++ runtime: {REINSTALL_FIX}"
    if isinstance(exc, ModuleNotFoundError):
        return INSTALL_FIX
    return REINSTALL_FIX


def import_problem(module: str, importer: Importer | None = None) -> ImportProblem | None:
    """None when ``module`` imports; otherwise what went wrong and the fix. Any exception counts:
    a package that half-imports is as unusable as a missing one."""
    importer = importlib.import_module if importer is None else importer
    try:
        importer(module)
    except Exception as exc:        # noqa: BLE001 - every failure is reported, with its fix
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return ImportProblem(module, f"{type(exc).__name__}: {first_line}", fix_for(module, exc))
    return None


def control_import_problems(importer: Importer | None = None) -> list[ImportProblem]:
    return [p for m in CONTROL_MODULES if (p := import_problem(m, importer)) is not None]
