"""`npp evaluate-merge`: join the per-shard results of one evaluation (`--shard I/N` runs
on many machines) into the results one unsharded run would have written."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence

from npp.errors import NppError
from npp.evaluate.report import build_results

#: config keys that differ between the shards of one evaluation
PER_SHARD = ("shard", "seconds")


def read_shard(path: Path) -> dict:
    """A shard's results.json (given as the file or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        res = json.loads(path.read_text())
        res["config"], res["rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NppError(f"{path}: not an `npp evaluate` results.json ({exc})") from None
    return res


def merge_results(paths: Sequence[Path]) -> dict:
    """Check the shards belong to one evaluation and cover it once, then re-aggregate."""
    shards = [read_shard(p) for p in paths]
    if not shards:
        raise NppError("no shard results given")
    base = {k: v for k, v in shards[0]["config"].items() if k not in PER_SHARD}
    seen, total = set(), None
    rows: List[dict] = []
    for p, res in zip(paths, shards):
        cfg = {k: v for k, v in res["config"].items() if k not in PER_SHARD}
        if cfg != base:
            diff = sorted(k for k in set(cfg) | set(base) if cfg.get(k) != base.get(k))
            raise NppError(f"{p}: a different evaluation (differs in {', '.join(diff)})")
        i, n = res["config"].get("shard", [0, 1])
        if total is not None and n != total:
            raise NppError(f"{p}: shard {i}/{n} does not belong with shards of {total}")
        total = n
        if i in seen:
            raise NppError(f"{p}: shard {i}/{n} given twice")
        seen.add(i)
        rows.extend(res["rows"])
    missing = sorted(set(range(total)) - seen)
    if missing:
        raise NppError(f"shards {', '.join(f'{i}/{total}' for i in missing)} are missing")
    keys = [(r["image"], r["method"], r["qp"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise NppError("the shards overlap (an image appears in two of them)")
    config = dict(base, shard=[0, 1])
    seconds = sum(res.get("seconds") or 0.0 for res in shards)
    return build_results(config, rows, seconds=seconds)
