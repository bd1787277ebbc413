"""Vision models that judge compressed images: ImageNet classifiers, COCO detectors, pose.

`create_model(name=None, task="cls"|"det"|"pose", device=None)`, `list_models(task)`,
`model_status(name)`. Importing this package registers every model; building one is lazy."""
from npp.vision.registry import (
    DEFAULTS,
    TASKS,
    create_model,
    list_models,
    model_spec,
    model_status,
    register_model,
)
from npp.vision.labels import COCO_LABELS, IMAGENET_LABELS
from npp.vision import efficientnet, movenet, nanodet, torchvision_models  # noqa: F401  (register the models)

__all__ = [
    "COCO_LABELS",
    "DEFAULTS",
    "IMAGENET_LABELS",
    "TASKS",
    "create_model",
    "list_models",
    "model_spec",
    "model_status",
    "register_model",
]
