"""Rate-accuracy evaluation: curves of bpp against PSNR, MS-SSIM and a vision model's
accuracy or fidelity for the plain codec, NPP+codec and classical pre-filters, summarised
as BD-rates with bootstrap intervals (`npp evaluate`, `npp evaluate-merge`, the app's
Curves tab through `evaluate_photo`)."""
from npp.evaluate.bdrate import bd_rate, bootstrap_bd_rate
from npp.evaluate.branches import Branch, parse_baselines
from npp.evaluate.report import build_results, summary, write_results
from npp.evaluate.sweep import Item, Sweep, SweepSpec, evaluate_photo

__all__ = ["Branch", "Item", "Sweep", "SweepSpec", "bd_rate", "bootstrap_bd_rate", "build_results",
           "evaluate_photo", "parse_baselines", "summary", "write_results"]
