"""Class names: ImageNet-1k (torchvision's list, index order of the 1000 logits) and COCO's
80 detection classes (in the contiguous order NanoDet and most COCO detectors output)."""
from __future__ import annotations

from typing import List

from torchvision.models._meta import _IMAGENET_CATEGORIES

IMAGENET_LABELS: List[str] = list(_IMAGENET_CATEGORIES)

COCO_LABELS: List[str] = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]

assert len(IMAGENET_LABELS) == 1000 and len(COCO_LABELS) == 80


def imagenet_index(label: str) -> int:
    """Index of an ImageNet class name (case-insensitive); ValueError if unknown."""
    low = label.strip().lower()
    for i, name in enumerate(IMAGENET_LABELS):
        if name.lower() == low:
            return i
    raise ValueError(label)
