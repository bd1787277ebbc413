"""Per-image fidelity and task metrics: PSNR and MS-SSIM against the original pixels,
KL divergence and top-1 agreement between the classifier's softmax on the decoded and on
the uncompressed image, and top-1/top-5 hits against a label."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else float(10.0 * math.log10(255.0 ** 2 / mse))


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM (five scales, window 11, mean over RGB channels) of two HxWx3 uint8 images.

    Images whose shorter side is 160 px or less are too small for five scales; they get
    single-scale SSIM (window shrunk to fit) rather than an error."""
    from pytorch_msssim import ms_ssim as _ms_ssim, ssim as _ssim

    ta = torch.from_numpy(np.array(a)).permute(2, 0, 1)[None].double()
    tb = torch.from_numpy(np.array(b)).permute(2, 0, 1)[None].double()
    side = min(a.shape[:2])
    with torch.no_grad():
        if side > 160:
            return float(_ms_ssim(ta, tb, data_range=255.0))
        win = min(11, side if side % 2 else side - 1)
        if win < 3:
            return 1.0 if np.array_equal(a, b) else float("nan")
        return float(_ssim(ta, tb, data_range=255.0, win_size=win))


def kl_divergence(ref_logits: torch.Tensor, logits: torch.Tensor) -> np.ndarray:
    """KL(softmax(ref) || softmax(test)) in nats for each row (crop) of two Bx1000 tensors."""
    ref = F.log_softmax(ref_logits.double(), dim=1)
    test = F.log_softmax(logits.double(), dim=1)
    return (ref.exp() * (ref - test)).sum(dim=1).clamp_min(0).cpu().numpy()


def top1_agreement(ref_logits: torch.Tensor, logits: torch.Tensor) -> np.ndarray:
    """1.0 per row where the decoded image's top class equals the uncompressed one's."""
    return (ref_logits.argmax(dim=1) == logits.argmax(dim=1)).double().cpu().numpy()


def topk_hits(logits: torch.Tensor, label: int, k: int) -> np.ndarray:
    """1.0 per row where `label` is among the `k` highest logits."""
    top = logits.topk(k, dim=1).indices
    return (top == int(label)).any(dim=1).double().cpu().numpy()


def coco_map(gt: dict, detections: list) -> tuple:
    """(mAP@[.5:.95], mAP@.5) of `detections` against `gt` with pycocotools' COCOeval.

    `gt` is a COCO-format dict (images, annotations, categories); `detections` a list of
    {"image_id", "category_id", "bbox": [x, y, w, h], "score"}. NaN without ground truth."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not gt.get("annotations"):
        return float("nan"), float("nan")
    if not detections:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        result = coco.loadRes(detections)
        ev = COCOeval(coco, result, "bbox")
        ev.params.imgIds = [im["id"] for im in gt["images"]]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])
