"""What the vision models show about an image in the app: the classifier's top-5, the
detections drawn on it, and Grad-CAM heatmaps for both. The numbers the app compares (KL,
confidence, detection F1) come from `npp.evaluate`, so they equal what `npp evaluate` reports;
this module only adds what is drawn. A model that cannot be loaded here leaves its results None
and `reasons` says why, so the app can show the rest."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch

from npp.errors import NppError
from npp.evaluate.detection import DETECTED_SCORE
from npp.torchutil import to_tensor
from npp.vision import create_model, list_models, model_status
from npp.vision.gradcam import gradcam_overlay
from npp.visualize import draw_detections


@dataclass
class Analysis:
    """Everything shown for one image; None where a model is unavailable."""

    top5: Optional[list] = None
    detections: Optional[list] = None
    detections_image: Optional[np.ndarray] = None
    cam_classifier: Optional[np.ndarray] = None
    cam_detector: Optional[np.ndarray] = None
    #: why something of this image could not be shown (e.g. no detections to explain): the
    #: image's own, never another request's
    notes: List[str] = field(default_factory=list)


def _load(task: str, name: Optional[str], device: torch.device):
    try:
        return create_model(name, task=task, device=device), ""
    except NppError as exc:
        return None, str(exc)


def model_choices(task: str) -> List[tuple]:
    """(label, name) of every registered model of a task; an unavailable one says why."""
    out = []
    for name in list_models(task):
        ok, reason = model_status(name)
        out.append((name if ok else f"{name} (unavailable: {reason})", name))
    return out


class VisionSuite:
    """The classifier and detector, loaded once (the registry's shared objects). Everything here
    may run from many threads at once: Grad-CAM records only its own thread's pass
    (`npp.vision.gradcam`), so it needs no lock against inference or other heatmaps."""

    def __init__(self, device: torch.device, classifier: Optional[str] = None, detector: Optional[str] = None) -> None:
        self.device = device
        self.names = (classifier, detector)
        self.classifier, cls_reason = _load("cls", classifier, device)
        self.detector, det_reason = _load("det", detector, device)
        self.reasons = {"classifier": cls_reason, "detector": det_reason}

    @property
    def models(self) -> dict:
        """{"cls": classifier, "det": detector} of the models available here (for `npp.evaluate`)."""
        return {t: m for t, m in (("cls", self.classifier), ("det", self.detector)) if m is not None}

    def heatmap(self, which: str, rgb: np.ndarray, target: Optional[int] = None) -> tuple:
        """(Grad-CAM overlay or None, why not); `target` is the classifier's class (given:
        saves a forward pass). The reason belongs to this image, so it is returned, not kept."""
        model = self.classifier if which == "classifier" else self.detector
        if model is None:
            return None, ""
        try:
            return gradcam_overlay(model, rgb, target=target), ""
        except NppError as exc:
            return None, f"{which} heatmap: {exc}"

    def analyse(self, rgbs: Sequence[np.ndarray], detections: Sequence[Optional[list]], heatmaps: bool = True,
                timer: Callable | None = None) -> List[Analysis]:
        """What to show for same-sized images: top-5 (one batch), the given detections (from
        `npp.evaluate`'s rows, in the images' pixels) drawn at DETECTED_SCORE, and heatmaps."""
        out = [Analysis() for _ in rgbs]
        timer = timer or _no_timer
        if self.classifier is not None:
            with timer("classify"), torch.inference_mode():
                for a, top5 in zip(out, self.classifier.predict(to_tensor(rgbs, self.device))):
                    a.top5 = _plain(top5)
        for a, rgb, dets in zip(out, rgbs, detections):
            if dets is not None:
                a.detections = [d for d in dets if d["score"] >= DETECTED_SCORE]
                a.detections_image = draw_detections(rgb, a.detections)
        if heatmaps:
            with timer("gradcam"):
                for a, rgb in zip(out, rgbs):
                    top1 = a.top5[0]["index"] if a.top5 else None
                    a.cam_classifier, why_cls = self.heatmap("classifier", rgb, top1)
                    a.cam_detector, why_det = self.heatmap("detector", rgb)
                    a.notes += [n for n in (why_cls, why_det) if n]
        return out


def _plain(obj):
    """Predictions as JSON-ready Python values (floats rounded for display)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 4)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


class _NoTimer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _no_timer(_name: str) -> _NoTimer:
    return _NoTimer()
