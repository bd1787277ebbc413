"""Grad-CAM heatmaps (the `grad-cam` package) for classifiers and detectors.

Why: the app shows *where* a model looks before and after compression; NPP should keep the
evidence on the object. The CAM is computed at the model's own input size (cheap, and the
same pixels the model sees) and scaled back to the image, so the overlay has the input's size.

Heatmaps are safe to compute while other threads use the same model object (the registry shares
one per process): grad-cam's hooks here keep only the calling thread's pass (`_OwnPassRecorder`),
so no caller needs a lock and nothing is serialised.
"""
from __future__ import annotations

import threading
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget, FasterRCNNBoxScoreTarget
from torch import nn

from npp.errors import NppError
from npp.torchutil import to_tensor
from npp.vision.tensor import resize


class _DetectionsOutput(nn.Module):
    """Presents a detector as grad-cam expects: a list of {"boxes", "labels", "scores"} per image."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        return self.detector.detections(x)


class _OwnPassRecorder(ActivationsAndGradients):
    """grad-cam's activation and gradient recorder, deaf to every thread but the one computing
    the heatmap.

    Why: its hooks sit on the shared model itself, so without this any other thread's forward
    through a target layer while the heatmap is computed (the evaluation sweep, another request's
    top-5, NPP training's teacher) would be recorded as this heatmap's activation, and the
    gradients of such a pass as its gradients: wrong heatmaps, usually blank or flat. A forward
    pass fires its forward hooks in the thread that called it, and the gradient hook is attached
    only to this thread's own outputs (it may then run in autograd's device thread, as on CUDA),
    so the filter keeps exactly the heatmap's own pass. Nothing is locked: inference, training
    and other heatmaps on the same model run on at full speed."""

    def __init__(self, model: nn.Module, target_layers: List[nn.Module]) -> None:
        self.thread = threading.get_ident()
        super().__init__(model, target_layers, None)

    def save_activation(self, module: nn.Module, input, output) -> None:
        if threading.get_ident() == self.thread:
            super().save_activation(module, input, output)

    def save_gradient(self, module: nn.Module, input, output) -> None:
        if threading.get_ident() == self.thread:
            super().save_gradient(module, input, output)


class _OwnPassGradCAM(GradCAM):
    """GradCAM recording only its own thread's forward and backward pass (`_OwnPassRecorder`)."""

    def __init__(self, model: nn.Module, target_layers: List[nn.Module]) -> None:
        super().__init__(model=model, target_layers=target_layers)
        self.activations_and_grads.release()  # the base class's recorder hears every thread
        self.activations_and_grads = _OwnPassRecorder(model, target_layers)


def _cams(model: nn.Module, layers: Sequence[nn.Module], x: torch.Tensor, targets: list) -> np.ndarray:
    """B x H x W heatmaps in [0, 1] of a batch, one target per image."""
    x = x.detach().clone().requires_grad_(True)  # the models' weights are frozen; gradients start here
    with _OwnPassGradCAM(model, list(layers)) as cam:
        return cam(input_tensor=x, targets=targets)


def classifier_saliency(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW maps in [0, 1] of where the classifier looks in each image of `x` (Bx3xHxW in
    [0, 1]): Grad-CAM of its own top-1 class at its input size, scaled back to HxW and
    normalised per image. What NPP's saliency input and the `saliency-qp` method use: a sender
    that knows its receiver's classifier keeps what that classifier needs."""
    h, w = x.shape[-2:]
    xs = resize(x.detach(), (model.input_size, model.input_size))
    with torch.no_grad():
        top = model(xs).argmax(1).tolist()
    maps = _cams(model, [model.cam_layer], xs, [ClassifierOutputTarget(t) for t in top])
    t = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[:, None].to(x.device)
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


def _work_size(model: nn.Module, height: int, width: int, longest: int = 800) -> tuple[int, int]:
    """The size a detector sees: its fixed square input, or the image scaled to <= `longest`."""
    size = getattr(model, "input_size", None)
    if size:
        return size, size
    s = min(1.0, longest / max(height, width))
    return max(1, round(height * s)), max(1, round(width * s))


def _to_image_size(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(cam, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()


def classifier_cam(model: nn.Module, rgb: np.ndarray, class_index: Optional[int] = None) -> tuple[np.ndarray, int]:
    """HxW heatmap in [0, 1] for `class_index` (default: the top-1 class), and that class."""
    dev = next(model.parameters()).device
    x = resize(to_tensor(rgb, dev), (model.input_size, model.input_size))
    if class_index is None:
        with torch.no_grad():
            class_index = int(model(x).argmax(1)[0])
    if not 0 <= class_index < len(model.labels):
        raise NppError(f"class index {class_index} is out of range")
    cam = _cams(model, [model.cam_layer], x, [ClassifierOutputTarget(class_index)])[0]
    return _to_image_size(cam, rgb.shape[0], rgb.shape[1]), class_index


def detector_cam(model: nn.Module, rgb: np.ndarray, label: Optional[str] = None,
                 threshold: Optional[float] = None) -> tuple[np.ndarray, List[Dict[str, object]]]:
    """HxW heatmap in [0, 1] explaining the detections (score >= threshold, optionally only
    `label`) through the sum of their box scores; returns the explained detections too."""
    dev = next(model.parameters()).device
    h, w = _work_size(model, rgb.shape[0], rgb.shape[1])
    x = resize(to_tensor(rgb, dev), (h, w))
    with torch.no_grad():
        dets = model.detect(x, threshold=threshold)[0]
    if label is not None:
        if label not in model.labels:
            raise NppError(f"unknown COCO class {label!r}")
        dets = [d for d in dets if d["label"] == label]
    if not dets:
        what = f"{label!r} " if label else ""
        raise NppError(f"no {what}detections above the threshold to explain")
    labels = [model.labels.index(d["label"]) for d in dets]
    boxes = np.array([d["box"] for d in dets], dtype=np.float32)
    target = FasterRCNNBoxScoreTarget(labels=labels, bounding_boxes=boxes, iou_threshold=0.5)
    cam = _cams(_DetectionsOutput(model), model.cam_layers, x, [target])[0]
    sy, sx = rgb.shape[0] / h, rgb.shape[1] / w
    for d in dets:
        x0, y0, x1, y1 = d["box"]
        d["box"] = [round(x0 * sx, 1), round(y0 * sy, 1), round(x1 * sx, 1), round(y1 * sy, 1)]
    return _to_image_size(cam, rgb.shape[0], rgb.shape[1]), dets


def overlay(rgb: np.ndarray, cam: np.ndarray, boxes: Sequence[Dict[str, object]] = ()) -> np.ndarray:
    """The heatmap blended over the image (JET colours), with any boxes and labels drawn on."""
    out = show_cam_on_image(rgb.astype(np.float32) / 255.0, cam, use_rgb=True, image_weight=0.5)
    if boxes:
        im = Image.fromarray(out)
        draw = ImageDraw.Draw(im)
        width = max(2, round(max(rgb.shape[:2]) / 300))
        for d in boxes:
            draw.rectangle(d["box"], outline=(255, 255, 255), width=width)
            draw.text((d["box"][0] + width + 1, d["box"][1] + width + 1), f"{d['label']} {d['score']:.2f}", fill=(255, 255, 255))
        out = np.asarray(im)
    return out


def gradcam_overlay(model: nn.Module, rgb_uint8: np.ndarray, target: Optional[str | int] = None,
                    threshold: Optional[float] = None) -> np.ndarray:
    """HxWx3 uint8 Grad-CAM overlay of the input's size, for a classifier (target: class index
    or ImageNet name; default top-1) or a detector (target: COCO name; default all detections)."""
    if getattr(model, "task", None) == "cls":
        idx = None
        if isinstance(target, str):
            from npp.vision.labels import imagenet_index

            try:
                idx = imagenet_index(target)
            except ValueError:
                raise NppError(f"unknown ImageNet class {target!r}") from None
        elif target is not None:
            idx = int(target)
        cam, _ = classifier_cam(model, rgb_uint8, idx)
        return overlay(rgb_uint8, cam)
    if getattr(model, "task", None) == "det":
        cam, dets = detector_cam(model, rgb_uint8, label=target, threshold=threshold)
        return overlay(rgb_uint8, cam, dets)
    raise NppError("Grad-CAM needs a classifier or a detector")
