"""The architecture's promises, checked on the source (no code runs): data flows one way
(UI/CLI -> services -> methods, evaluate, train -> codecs, nn, vision -> shared helpers), and
the shared helpers are defined once."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

NPP = Path(__file__).resolve().parents[1] / "npp"
LOWER = ("codecs", "nn", "vision", "train", "evaluate", "methods")
UPPER = ("npp.commands", "npp.pipeline", "npp.curves", "npp.jobs", "npp.ui", "app")
SHARED_HELPERS = ("IMAGE_SUFFIXES", "parse_qps", "check_qp", "to_tensor", "pick_device", "fold_batchnorm",
                  "resize_shorter_side", "gaussian_blur", "psnr", "detection_f1", "public_mode")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", LOWER)
def test_no_upward_imports(package):
    bad = [(p.relative_to(NPP).as_posix(), m) for p in sorted((NPP / package).rglob("*.py"))
           for m in imported_modules(p) if m.split(".")[0] == "app" or m.startswith(UPPER[:-1])]
    assert not bad, f"modules under npp/{package} import upper layers: {bad}"


def test_shared_helpers_are_defined_once():
    defined: dict = {}
    for p in sorted(NPP.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.col_offset == 0:
                names = [node.name]
            elif isinstance(node, ast.Assign) and node.col_offset == 0:
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for n in names:
                if n in SHARED_HELPERS:
                    defined.setdefault(n, []).append(p.relative_to(NPP).as_posix())
    twice = {n: ps for n, ps in defined.items() if len(ps) > 1}
    assert not twice, f"defined more than once: {twice}"
    assert set(SHARED_HELPERS) - {"public_mode"} <= set(defined)
