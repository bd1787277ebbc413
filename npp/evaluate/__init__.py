"""Rate-accuracy evaluation: curves of bpp against PSNR, MS-SSIM and a vision model's
accuracy or fidelity for every method (`npp.methods`: the plain codec, NPP, blur, downscale,
resize, QP maps), summarised as BD-rates with bootstrap intervals, under two protocols
(`npp.evaluate.protocol`). Used by `npp evaluate`, `npp evaluate-merge` and the app's Compare
and Curves tabs (`evaluate_photo`)."""
from npp.evaluate.bdrate import bd_rate, bootstrap_bd_rate
from npp.evaluate.protocol import PROTOCOLS, REFERENCE
from npp.evaluate.report import build_results, summary, write_results
from npp.evaluate.sweep import Item, Sweep, SweepSpec, evaluate_photo

__all__ = ["Item", "PROTOCOLS", "REFERENCE", "Sweep", "SweepSpec", "bd_rate", "bootstrap_bd_rate", "build_results",
           "evaluate_photo", "summary", "write_results"]
