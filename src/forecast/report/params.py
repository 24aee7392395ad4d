"""A notebook checks its own parameters before it computes anything.

Used the same way by ``forecast report``, ``papermill`` and an analyst in JupyterLab: the cell
right after the ``parameters`` cell calls ``params.check_parameters(globals())``.

How an undeclared parameter is found (issue 13: "a first cell that compares the injected
parameters with the declared ones", not a papermill engine hook, so it works in JupyterLab and
under any engine): the declared parameters are the names the ``parameters`` cell annotates
(``kommun: str = "0136"`` puts ``kommun`` into the namespace's ``__annotations__``).
papermill injects its values in a cell of plain assignments right after it. The check reads
IPython's input history (``In``): every name given a literal value after the latest
``parameters`` cell and not declared there was injected but not declared (a misspelt
``-p kommnu 0180``), and is an error, not papermill's warning.
"""
from __future__ import annotations

import ast
import difflib

from ..errors import ParameterError
from ..regions import ADMISSION_REGION


def _assigned(source: str, annotated: bool) -> list[str]:
    """Names a cell's source assigns a literal to: with annotations (a parameters cell) or without
    (papermill's injected cell). Unparsable sources (IPython magics) assign nothing here."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in tree.body:
        if annotated and isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.append(node.target.id)
        elif not annotated and isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                ast.literal_eval(node.value)
            except (ValueError, SyntaxError, TypeError):
                continue
            out += [t.id for t in node.targets]
    return out


def injected_names(history: list[str], declared) -> list[str]:
    """Undeclared names given literal values in the cells run after the latest parameters cell
    (``history``: the sources run so far, the current cell excluded)."""
    declared = set(declared)
    last = max((i for i, s in enumerate(history) if set(_assigned(s, True)) & declared), default=None)
    if last is None:
        return []
    return sorted({n for s in history[last + 1:] for n in _assigned(s, False)} - declared)


def municipality_names() -> dict:
    """kommun_kod → name for the admission region (the processed municipality register)."""
    try:
        from ..data import load_table
        m = load_table("municipalities")
        return {str(c): str(n) for c, n in zip(m.kommun_kod, m.kommun) if str(c) in ADMISSION_REGION}
    except Exception:                          # no processed data yet: codes only
        return {c: c for c in ADMISSION_REGION}


def coerce_kommun(value, names: dict | None = None) -> str:
    """A municipality of the admission region as its 4-character code: "0138", 138 (papermill
    turns 0138 into the integer 138), "138" or a name ("Tyresö", any case). Else a clear error."""
    names = municipality_names() if names is None else names
    if isinstance(value, bool):
        raise ParameterError(f"kommun {value!r} is not a municipality code or name")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        code = f"{int(value):04d}"
        if code in names:
            return code
        raise ParameterError(f"kommun {value!r} ({code}) is not in the admission region; valid codes: "
                             + ", ".join(sorted(names)))
    if isinstance(value, str):
        by_name = {n.casefold(): c for c, n in names.items()}
        if value.strip().casefold() in by_name:
            return by_name[value.strip().casefold()]
        close = difflib.get_close_matches(value.strip().casefold(), list(by_name), n=3)
        hint = f"; did you mean {', '.join(names[by_name[c]] for c in close)}?" if close else ""
        raise ParameterError(f"kommun {value!r} is not a municipality of the admission region{hint} "
                             "Give a 4-digit code (e.g. \"0136\") or a name (e.g. \"Haninge\").")
    raise ParameterError(f"kommun {value!r} is not a municipality code or name")


def check_parameters(namespace: dict) -> dict:
    """Check the parameters a notebook was given; returns them (``kommun`` as its code).

    Errors (:class:`forecast.errors.ParameterError`, one message naming every problem): a name
    injected but not declared, a value of the wrong type. An int is accepted for a float."""
    declared = dict(namespace.get("__annotations__", {}))
    history = namespace.get("In")
    injected = injected_names(list(history)[:-1], declared) if history else []
    problems = []
    for k in injected:
        close = difflib.get_close_matches(k, list(declared), n=1)
        problems.append(f"unknown parameter {k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    values = {}
    for name, typ in declared.items():
        if name not in namespace:
            continue
        v = namespace[name]
        if name == "kommun":
            try:
                v = coerce_kommun(v)
            except ParameterError as e:
                problems.append(str(e))
        elif isinstance(typ, type) and not isinstance(v, typ) and not (
                typ is float and isinstance(v, int) and not isinstance(v, bool)) or (
                typ is int and isinstance(v, bool)):
            problems.append(f"parameter {name} must be {typ.__name__}, got {v!r}")
        values[name] = v
    if problems:
        raise ParameterError("; ".join(problems) + f". This notebook declares: {', '.join(sorted(declared))}")
    return values
