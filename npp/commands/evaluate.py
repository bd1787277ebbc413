"""`npp evaluate` (rate-accuracy curves and BD-rates over a folder of photos) and
`npp evaluate-merge` (join the results of `--shard I/N` runs)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from npp.commands.common import check_writable, print_json
from npp.errors import NppError

DEFAULT_QPS = "28,31,34,37,41"
#: more codec processes than this per core only add memory (each holds its codec and the model)
MAX_JOBS_PER_CORE = 4


def check_vision(name: str, task: str) -> None:
    """Fail early (before any codec work) on an unknown, wrong-task or unavailable model."""
    from npp.vision import model_spec

    spec = model_spec(name)
    if spec.task != task:
        raise NppError(f"--model {name} is a {spec.task} model, not {task}")
    ok, reason = spec.status()
    if not ok:
        raise NppError(f"--model {name} cannot run here: {reason}")


def load_vision(name: str, task: str):
    from npp.vision import create_model

    return create_model(name, task=task)


def evaluation_methods(args: argparse.Namespace) -> list:
    """plain, then NPP (the shipped weights or --npp-weights; left out with a note on stderr when
    there are none, never run untrained), then --baselines (any registered methods)."""
    from npp.methods import create_method, create_methods

    methods = [create_method("plain")]
    if args.npp_weights and not Path(args.npp_weights).is_file():
        raise NppError(f"--npp-weights {args.npp_weights}: no such file")
    if not args.no_npp:
        try:
            methods.append(create_method("npp" if not args.npp_weights else f"npp[weights={args.npp_weights}]"))
        except NppError as exc:
            if args.npp_weights:
                raise
            print(f"npp evaluate: leaving out the npp method: {exc}", file=sys.stderr)
    methods += create_methods(args.baselines or "")
    names = [m.name for m in methods]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise NppError(f"--baselines: {dup} is already evaluated (plain and npp always are)")
    return methods


def labels_id(args: argparse.Namespace) -> str | None:
    """Names the labels in the config, so results (and resumed rows) with other labels differ."""
    if args.labels:
        import hashlib

        return "csv:" + hashlib.sha256(Path(args.labels).read_bytes()).hexdigest()[:16]
    return "imagefolder" if args.imagefolder else None


def run_evaluate(args: argparse.Namespace) -> int:
    from npp.codecs import codec_from_args, parse_qps
    from npp.evaluate.dataset import load_items, parse_shard
    from npp.evaluate.detection import check_covers, load_coco
    from npp.evaluate.report import build_results, summary, write_results
    from npp.evaluate.resume import RowLog
    from npp.evaluate.sweep import Sweep, SweepSpec, default_jobs, spec_config
    from tqdm import tqdm

    qps = parse_qps(args.qps, min_count=2, what="--qps")
    shard = parse_shard(args.shard)
    if not 0 <= args.jobs <= MAX_JOBS_PER_CORE * default_jobs():
        raise NppError(f"--jobs {args.jobs}: give 0 (one worker process per core) or a number of worker "
                       f"processes up to {MAX_JOBS_PER_CORE * default_jobs()} ({MAX_JOBS_PER_CORE} per core)")
    check_writable([Path(args.out) / "results.json"])
    methods = evaluation_methods(args)
    if args.task == "det" and (args.labels or args.imagefolder):
        raise NppError("--labels/--imagefolder are for --task cls; detection takes --coco")
    if args.task == "cls" and args.coco:
        raise NppError("--coco is for --task det")
    gt = load_coco(Path(args.coco)) if args.coco else None
    if args.quality is not None:
        raise NppError("--quality fixes JPEG's quality, which would flatten the curve: evaluate sweeps --qps")
    codec = codec_from_args(args)
    options = codec.options()
    ok, reason = codec.availability()
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
    out = Path(args.out)
    cache = Path(args.cache) if args.cache else out / "cache"
    spec = SweepSpec(args.codec, qps, methods, args.task, args.protocol, options, cache)
    config = spec_config(spec, [args.task], model=model_name, labels=labels_id(args),
                         coco=str(Path(args.coco).resolve()) if args.coco else None, shard=list(shard))
    log = RowLog(out / "rows.jsonl", config)
    todo = [i for i in items if not log.done(i.name)]
    if len(todo) < len(items):
        print(f"npp evaluate: resuming: {len(items) - len(todo)} of {len(items)} photos already done "
              f"(in {out / 'rows.jsonl'})", file=sys.stderr)
    model = load_vision(model_name, args.task) if todo else None
    spec.det_input_size = getattr(model, "input_size", None) if args.task == "det" else None
    sweep = Sweep(spec, {args.task: model}, jobs=args.jobs or default_jobs())
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
    cfg = results["config"]
    print(f"{results['images']} images, {cfg['codec']}, {cfg.get('protocol', 'full')} protocol, metric {metric}")
    for name, c in results["curves"].items():
        for i, qp in enumerate(c["qp"]):
            print(f"  {name:18s} qp {qp:2d}  bpp {c['bpp'][i]:.4f}  psnr {c['psnr'][i]:6.2f}  "
                  f"{metric} {c[metric][i]:.4f}")
    for name, v in results["bd_rate"][metric].items():
        lo, hi = v["ci95"]
        print(f"  BD-rate {name} vs {cfg['methods'][0]} ({metric}): {v['value']:+.1f}% "
              f"[95% CI {lo:+.1f}, {hi:+.1f}]")
    best = results.get("best_baseline")
    for name, vs in results.get("vs_best_baseline", {}).items():
        lo, hi = vs[metric]["ci95"]
        print(f"  BD-rate {name} vs the best baseline {best} ({metric}): {vs[metric]['value']:+.1f}% "
              f"[95% CI {lo:+.1f}, {hi:+.1f}]")


def info_section() -> dict:
    """What `npp evaluate` can measure here (the "evaluate" part of `npp info --json`)."""
    from importlib.metadata import version

    from npp.evaluate.sweep import default_jobs

    from npp.evaluate.protocol import PROTOCOLS
    from npp.methods import list_methods

    return {"tasks": {"cls": ["psnr", "msssim", "kl", "agreement", "confidence", "top1", "top5"],
                      "det": ["psnr", "msssim", "detection_f1", "map", "map50"]},
            "methods": list_methods(), "protocols": list(PROTOCOLS), "default_qps": [int(q) for q in DEFAULT_QPS.split(",")],
            "bd_rate": f"bjontegaard {version('bjontegaard')} pchip, upper envelope, paired bootstrap",
            "default_jobs": default_jobs()}


def run_merge(args: argparse.Namespace) -> int:
    from npp.evaluate.merge import merge_results
    from npp.evaluate.report import summary, write_results

    check_writable([Path(args.out) / "results.json"])
    results = merge_results([Path(p) for p in args.shards])
    write_results(Path(args.out), results)
    if args.json:
        print_json(summary(results))
    else:
        print_table(results)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from npp.codecs import add_codec_arguments, list_codecs

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
    p.add_argument("--npp-weights", help="NPP weights for the npp method (default: the shipped weights)")
    p.add_argument("--no-npp", action="store_true", help="leave out the npp method")
    p.add_argument("--baselines", default="",
                   help="more methods to compare (any of `npp info`'s methods), e.g. "
                        "blur:0.6,blur:1.0,down:2,resize:256")
    p.add_argument("--protocol", default="full", choices=["full", "model-input"],
                   help="full: the codec gets the photo, the classifier sees 5 crops of its 256 px resize; "
                        "model-input: the codec gets the 224 px crop the classifier sees (detector: its input size)")
    p.add_argument("--out", required=True, help="output folder (results.json, results.csv, curves.png)")
    p.add_argument("--cache", help="encode cache folder (default OUT/cache); share it between runs")
    p.add_argument("--jobs", type=int, default=0, help="codec worker processes (default: all cores)")
    p.add_argument("--shard", help="I/N: evaluate every N-th image from the I-th (0 <= I < N)")
    add_codec_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one summary object on stdout")
    p.set_defaults(func=run_evaluate)

    p = sub.add_parser("evaluate-merge", help="merge the results of `evaluate --shard I/N` runs")
    p.add_argument("shards", nargs="+", metavar="SHARD", help="shard output folders or their results.json")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print one summary object on stdout")
    p.set_defaults(func=run_merge)
