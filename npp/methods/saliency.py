"""Where the sender's classifier looks in a photo, as a mask the untrained semantic methods
share (`saliency-qp` spends bits there, `saliency-blur` keeps detail there): Grad-CAM of its
own top-1 class, smoothed by 8 px at the classifier's 224 px scale, normalised to a peak of 1,
x1.6 so the object's core saturates, clipped to [0, 1] (the rule NOTES-era probes measured on
unseen photos). The mask depends only on the photo, not on the QP or the method's strength,
so the masks of the last few photos are kept: an evaluation over many QPs and strengths runs
Grad-CAM once per photo."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional

import numpy as np

from npp.image import resize_shorter_side
from npp.methods.cache import pixels_hash
from npp.vision import DEFAULTS

#: the sender's classifier (the offline default)
SENDER = DEFAULTS["cls"]
#: the scale at which the CAM is computed and smoothed (the classifier's input size)
CAM_SIDE = 224
#: Gaussian smoothing of the CAM at CAM_SIDE, px
SMOOTH_PX = 8.0
#: gain after normalising the CAM to a peak of 1, before clipping to [0, 1]
GAIN = 1.6
#: photos whose mask is kept
REMEMBERED = 16

_MASKS: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_LOCK = threading.Lock()


def compute_mask(model, rgb: np.ndarray) -> np.ndarray:
    """HxW in [0, 1]: where `model` (a classifier) finds its top-1 class in `rgb`; all zeros
    when its Grad-CAM is empty."""
    import torch
    import torch.nn.functional as F
    from scipy.ndimage import gaussian_filter

    from npp.torchutil import model_device, to_tensor
    from npp.vision.gradcam import classifier_saliency

    small = resize_shorter_side(rgb, CAM_SIDE, enlarge=False)
    cam = classifier_saliency(model, to_tensor(small, model_device(model)))[0, 0].cpu().numpy()
    cam = gaussian_filter(cam.astype(np.float32), SMOOTH_PX * min(small.shape[:2]) / CAM_SIDE, mode="nearest")
    peak = float(cam.max())
    if peak <= 1e-6:
        return np.zeros(rgb.shape[:2], np.float32)
    mask = np.clip(GAIN * cam / peak, 0.0, 1.0)
    t = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]
    return F.interpolate(t, size=rgb.shape[:2], mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()


def saliency_mask(rgb: np.ndarray, device: Optional[str] = None) -> np.ndarray:
    """`compute_mask` of the sender's classifier, remembered for the last REMEMBERED photos."""
    from npp.vision import create_model

    key = (SENDER, str(device), pixels_hash(rgb))
    with _LOCK:
        if key in _MASKS:
            _MASKS.move_to_end(key)
            return _MASKS[key]
    mask = compute_mask(create_model(SENDER, task="cls", device=device), rgb)
    with _LOCK:
        _MASKS[key] = mask
        while len(_MASKS) > REMEMBERED:
            _MASKS.popitem(last=False)
    return mask
