"""`npp evaluate` (rate-accuracy curves and BD-rates over a folder of photos) and
`npp evaluate-merge` (join the results of `--shard I/N` runs)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from npp.commands.common import print_json
from npp.errors import NppError

DEFAULT_QPS = "28,31,34,37,41"


def parse_qps(text: str) -> list:
    from npp.codecs import check_qp

    try:
        qps = [int(q) for q in text.split(",") if q.strip()]
    except ValueError:
        raise NppError(f"--qps {text}: expected integers separated by commas (e.g. 28,34,41)") from None
    if len(qps) < 2 or len(set(qps)) != len(qps):
        raise NppError(f"--qps {text}: give at least two different QPs")
    for q in qps:
        check_qp(q)
    return sorted(qps)


def check_vision(name: str, task: str) -> None:
    """Fail early (before any codec work) on an unknown, wrong-task or unavailable model."""
    try:
        from npp.vision import model_spec
    except ImportError as exc:
        raise NppError(f"vision models are not installed here ({exc})") from None
    spec = model_spec(name)
    if spec.task != task:
        raise NppError(f"--model {name} is a {spec.task} model, not {task}")
    ok, reason = spec.status()
    if not ok:
        raise NppError(f"--model {name} cannot run here: {reason}")


def load_vision(name: str, task: str):
    from npp.vision import create_model

    return create_model(name, task=task)


def load_npp_branch(weights: str | None, wanted: bool):
    """(model, weights hash) or (None, "") with a note on stderr when NPP cannot run."""
    from npp.evaluate.sweep import weights_hash

    if not wanted:
        return None, ""
    try:
        from npp.nn.zoo import load_npp

        model = load_npp(weights, device="cpu")
    except (ImportError, NppError) as exc:
        if weights:
            raise NppError(f"--npp-weights {weights}: {exc}") from None
        print(f"npp evaluate: skipping the npp branch: {exc}", file=sys.stderr)
        return None, ""
    return model, weights_hash(model)


def labels_id(args: argparse.Namespace) -> str | None:
    """Names the labels in the config, so results (and resumed rows) with other labels differ."""
    if args.labels:
        import hashlib

        return "csv:" + hashlib.sha256(Path(args.labels).read_bytes()).hexdigest()[:16]
    return "imagefolder" if args.imagefolder else None


def run_evaluate(args: argparse.Namespace) -> int:
    from npp.codecs import create_codec
    from npp.commands.codec import codec_options
    from npp.evaluate.branches import NPP, PLAIN, parse_baselines
    from npp.evaluate.dataset import load_items, parse_shard
    from npp.evaluate.detection import check_covers, load_coco
    from npp.evaluate.report import build_results, summary, write_results
    from npp.evaluate.resume import RowLog
    from npp.evaluate.sweep import Sweep, SweepSpec, default_jobs, spec_config
    from tqdm import tqdm

    qps = parse_qps(args.qps)
    shard = parse_shard(args.shard)
    baselines = parse_baselines(args.baselines)
    if args.task == "det" and (args.labels or args.imagefolder):
        raise NppError("--labels/--imagefolder are for --task cls; detection takes --coco")
    if args.task == "cls" and args.coco:
        raise NppError("--coco is for --task det")
    gt = load_coco(Path(args.coco)) if args.coco else None
    options = codec_options(args)
    ok, reason = create_codec(args.codec, **options).availability()
    if not ok:
        raise NppError(f"codec {args.codec} is not available here: {reason}")
    items = load_items(Path(args.data), Path(args.labels) if args.labels else None, args.imagefolder,
                       Path(args.synsets) if args.synsets else None, shard)
    if not items:
        raise NppError(f"--shard {args.shard}: this shard has no images")
    if gt is not None:
        check_covers(gt, [i.name for i in items])
    from npp.vision.registry import DEFAULTS

    model_name = args.model or DEFAULTS[args.task]
    check_vision(model_name, args.task)
    npp_model, whash = load_npp_branch(args.npp_weights, not args.no_npp)
    branches = [PLAIN] + ([NPP] if npp_model is not None else []) + baselines
    out = Path(args.out)
    cache = Path(args.cache) if args.cache else out / "cache"
    spec = SweepSpec(args.codec, qps, args.task, branches, options, cache, whash)
    config = spec_config(spec, model=model_name, labels=labels_id(args),
                         coco=str(Path(args.coco).resolve()) if args.coco else None, shard=list(shard))
    log = RowLog(out / "rows.jsonl", config)
    todo = [i for i in items if not log.done(i.name)]
    if len(todo) < len(items):
        print(f"npp evaluate: resuming: {len(items) - len(todo)} of {len(items)} photos already done "
              f"(in {out / 'rows.jsonl'})", file=sys.stderr)
    model = load_vision(model_name, args.task) if todo else None
    sweep = Sweep(spec, model, npp_model, jobs=args.jobs or default_jobs())
    t0 = time.perf_counter()
    with tqdm(total=len(todo) * sweep.points_per_image, unit="pt", desc=f"evaluate {args.codec}", file=sys.stderr,
              disable=args.quiet, mininterval=1.0) as bar:
        sweep.progress = bar.update
        for image_rows in sweep.run_images(todo):
            log.append(image_rows)
    rows = [r for i in items for r in log.rows[i.name]]
    results = build_results(config, rows, seconds=time.perf_counter() - t0)
    write_results(out, results)
    if args.json:
        print_json(summary(results))
    else:
        print_table(results)
        print(f"wrote {out / 'results.json'}, {out / 'results.csv'}, {out / 'curves.png'}")
    return 0


def print_table(results: dict) -> None:
    """Human-readable curves and BD-rates."""
    metric = results["metric"]
    print(f"{results['images']} images, {results['config']['codec']}, metric {metric}")
    for name, c in results["curves"].items():
        for i, qp in enumerate(c["qp"]):
            print(f"  {name:18s} qp {qp:2d}  bpp {c['bpp'][i]:.4f}  psnr {c['psnr'][i]:6.2f}  "
                  f"{metric} {c[metric][i]:.4f}")
    for name, v in results["bd_rate"][metric].items():
        lo, hi = v["ci95"]
        print(f"  BD-rate {name} vs {results['config']['codec']} ({metric}): {v['value']:+.1f}% "
              f"[95% CI {lo:+.1f}, {hi:+.1f}]")


def info_section() -> dict:
    """What `npp evaluate` can measure here (the "evaluate" part of `npp info --json`)."""
    from importlib.metadata import version

    from npp.evaluate.sweep import default_jobs

    return {"tasks": {"cls": ["psnr", "msssim", "kl", "agreement", "top1", "top5"], "det": ["psnr", "msssim", "map", "map50"]},
            "baselines": ["blur:SIGMA", "down:FACTOR"], "default_qps": [int(q) for q in DEFAULT_QPS.split(",")],
            "bd_rate": f"bjontegaard {version('bjontegaard')} pchip, upper envelope, paired bootstrap",
            "default_jobs": default_jobs()}


def run_merge(args: argparse.Namespace) -> int:
    from npp.evaluate.merge import merge_results
    from npp.evaluate.report import summary, write_results

    results = merge_results([Path(p) for p in args.shards])
    write_results(Path(args.out), results)
    if args.json:
        print_json(summary(results))
    else:
        print_table(results)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from npp.codecs import list_codecs

    p = sub.add_parser("evaluate", help="rate-accuracy curves, BD-rates and plots over a folder of photos")
    p.add_argument("--data", required=True, help="folder of images (searched recursively) or one image")
    p.add_argument("--labels", help="CSV with columns file,label (ImageNet index or class name)")
    p.add_argument("--imagefolder", action="store_true",
                   help="labels from class folders (index, class name or WordNet id)")
    p.add_argument("--synsets", help="LOC_synset_mapping.txt for WordNet-id folders that are not all 1000")
    p.add_argument("--coco", help="COCO annotations JSON (--task det)")
    p.add_argument("--codec", required=True, choices=list_codecs())
    p.add_argument("--qps", default=DEFAULT_QPS, help=f"comma-separated QPs (default {DEFAULT_QPS})")
    p.add_argument("--task", default="cls", choices=["cls", "det"])
    p.add_argument("--model", help="vision model (default: the task's offline default, efficientnet_lite1 / nanodet)")
    p.add_argument("--npp-weights", help="NPP checkpoint (default: the shipped weights, if any)")
    p.add_argument("--no-npp", action="store_true", help="leave out the npp branch")
    p.add_argument("--baselines", default="",
                   help="pre-filter baselines, e.g. blur:0.6,blur:1.0,blur:1.5,blur:2.0,down:2")
    p.add_argument("--out", required=True, help="output folder (results.json, results.csv, curves.png)")
    p.add_argument("--cache", help="encode cache folder (default OUT/cache); share it between runs")
    p.add_argument("--jobs", type=int, default=0, help="codec worker processes (default: all cores)")
    p.add_argument("--shard", help="I/N: evaluate every N-th image from the I-th (0 <= I < N)")
    p.add_argument("--level", type=int, default=8, choices=range(1, 10), metavar="1..9",
                   help="bpg: bpgenc -m level (default 8)")
    p.add_argument("--chroma", default="420", choices=["420", "444"], help="bpg: chroma format")
    p.add_argument("--preset", default="medium", choices=["faster", "fast", "medium", "slow", "slower"],
                   help="vvc: vvenc preset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one summary object on stdout")
    p.set_defaults(func=run_evaluate, quality=None)  # a fixed JPEG quality would flatten the curve

    p = sub.add_parser("evaluate-merge", help="merge the results of `evaluate --shard I/N` runs")
    p.add_argument("shards", nargs="+", metavar="SHARD", help="shard output folders or their results.json")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print one summary object on stdout")
    p.set_defaults(func=run_merge)
