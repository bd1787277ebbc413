"""What the vision models say about an image: classifier top-5, detections (drawn), and
Grad-CAM heatmaps for both. Models are optional: when one cannot be loaded here, its results
are None and `reasons` says why, so the app can show the rest."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch

from npp.errors import NppError
from npp.visualize import draw_detections


@dataclass
class Analysis:
    """Everything shown for one image; None where a model is unavailable."""

    top5: Optional[list] = None
    detections: Optional[list] = None
    detections_image: Optional[np.ndarray] = None
    cam_classifier: Optional[np.ndarray] = None
    cam_detector: Optional[np.ndarray] = None
    timings: dict = field(default_factory=dict)


def to_tensor(rgbs: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """Same-sized HxWx3 uint8 images -> Bx3xHxW float in [0, 1] (the vision interface's input)."""
    x = torch.from_numpy(np.stack([np.ascontiguousarray(r) for r in rgbs]))
    return x.to(device).permute(0, 3, 1, 2).float().div_(255.0)


def _load(task: str, name: Optional[str], device: torch.device):
    try:
        from npp.vision import create_model
    except ImportError as exc:
        return None, f"vision models are not installed ({exc})"
    try:
        return create_model(name, task=task, device=device), ""
    except NppError as exc:
        return None, str(exc)


def model_choices(task: str) -> List[tuple]:
    """(label, name) of every registered model of a task; an unavailable one says why."""
    try:
        from npp.vision import list_models, model_status
    except ImportError:
        return []
    out = []
    for name in list_models(task):
        ok, reason = model_status(name)
        out.append((name if ok else f"{name} (unavailable: {reason})", name))
    return out


class VisionSuite:
    """The classifier and detector, loaded once. Grad-CAM hooks into a model, so heatmaps of
    one model are computed one at a time (a lock per model); plain inference is concurrent."""

    def __init__(self, device: torch.device, classifier: Optional[str] = None, detector: Optional[str] = None) -> None:
        self.device = device
        self.names = (classifier, detector)
        self.classifier, cls_reason = _load("cls", classifier, device)
        self.detector, det_reason = _load("det", detector, device)
        self.reasons = {"classifier": cls_reason, "detector": det_reason}
        self._cam_locks = {"classifier": threading.Lock(), "detector": threading.Lock()}

    def heatmap(self, which: str, rgb: np.ndarray, target: Optional[int] = None) -> Optional[np.ndarray]:
        """Grad-CAM overlay; `target` is the classifier's class (given: saves a forward pass)."""
        model = self.classifier if which == "classifier" else self.detector
        if model is None:
            return None
        try:
            from npp.vision.gradcam import gradcam_overlay
        except ImportError as exc:
            self.reasons["heatmaps"] = f"Grad-CAM is not installed ({exc})"
            return None
        with self._cam_locks[which]:
            try:
                return gradcam_overlay(model, rgb, target=target)
            except NppError as exc:
                self.reasons[f"{which} heatmap"] = str(exc)
                return None

    def analyse(self, rgbs: Sequence[np.ndarray], heatmaps: bool = True,
                timer: Callable | None = None) -> List[Analysis]:
        """Analyse same-sized images together (one batch per model)."""
        out = [Analysis() for _ in rgbs]
        timer = timer or _no_timer
        x = to_tensor(rgbs, self.device)
        if self.classifier is not None:
            with timer("classify"), torch.inference_mode():
                for a, top5 in zip(out, self.classifier.predict(x)):
                    a.top5 = _plain(top5)
        if self.detector is not None:
            with timer("detect"), torch.inference_mode():
                for a, rgb, dets in zip(out, rgbs, self.detector.detect(x)):
                    a.detections = _plain(dets)
                    a.detections_image = draw_detections(rgb, a.detections)
        if heatmaps:
            with timer("gradcam"):
                for a, rgb in zip(out, rgbs):
                    top1 = a.top5[0]["index"] if a.top5 else None
                    a.cam_classifier = self.heatmap("classifier", rgb, top1)
                    a.cam_detector = self.heatmap("detector", rgb)
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
    if isinstance(obj, torch.Tensor):
        return _plain(obj.tolist())
    return obj


class _NoTimer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _no_timer(_name: str) -> _NoTimer:
    return _NoTimer()
