"""Shared vision models give every caller its own answer under concurrency.

Why: the registry builds each model once per process and every caller (app, evaluation,
training, CLI) shares it; Grad-CAM records a layer's activations and gradients through hooks
on that shared model. These tests compute heatmaps of one photo while other threads run the
same models on other photos (plain inference, and a training-style forward with gradients to
the input), directly and through `ComparePipeline.compare`, and require every heatmap to equal
the one computed with nothing else running. Real photos, real models, CPU; the background
threads run until the checked heatmaps are done, so how fast anything runs changes how much
they overlap, never what a correct heatmap is."""
from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List

import numpy as np
import pytest
import torch

from npp.image import load_rgb, resize_shorter_side, save_png
from npp.pipeline import ComparePipeline, load_photo
from npp.torchutil import to_tensor
from npp.vision import create_model
from npp.vision.gradcam import gradcam_overlay

#: small photos keep the file fast: the models resize to their own input size anyway
SIDE = 192
#: heatmaps checked per model per run, each while all background threads are running
REPEATS = 6
#: photos the heatmaps explain (each has a confident class or detections) and photos the
#: background threads run on
CAM_PHOTO = {"cls": ("skimage", "chelsea.png"), "det": ("darknet", "kite.jpg")}
OTHER_PHOTOS = [("skimage", "coffee.png"), ("darknet", "horses.jpg")]


@pytest.fixture(scope="module")
def small(offline_photo_path) -> Callable[[str, str], np.ndarray]:
    def get(source: str, file: str) -> np.ndarray:
        return resize_shorter_side(load_rgb(offline_photo_path(source, file)), SIDE)

    return get


@pytest.fixture(scope="module")
def models() -> Dict[str, torch.nn.Module]:
    return {"cls": create_model(task="cls"), "det": create_model(task="det")}


class Background:
    """Threads running the shared models on other photos until the block ends: classifier
    `predict`, a classifier forward with gradients to the input and a backward (as NPP training
    does), and detector `detect`. Entering waits until each has finished one pass, so all of
    them are running when the first heatmap starts, and they run on until the last is done."""

    def __init__(self, models: Dict[str, torch.nn.Module], photos: List[np.ndarray]) -> None:
        cls, det = models["cls"], models["det"]
        batches = [to_tensor(p) for p in photos]

        def train_step(x: torch.Tensor) -> None:
            x = x.clone().requires_grad_(True)
            cls(x).logsumexp(1).sum().backward()
            assert x.grad is not None

        self.jobs = {"predict": lambda x: cls.predict(x), "train": train_step, "detect": lambda x: det.detect(x)}
        self.batches = batches
        self.stop = threading.Event()
        self.errors: List[BaseException] = []
        self._started = threading.Barrier(len(self.jobs) + 1)
        self.threads = [threading.Thread(target=self._loop, args=(name,), daemon=True) for name in self.jobs]

    def _loop(self, name: str) -> None:
        job = self.jobs[name]
        try:
            for i in itertools.count():
                job(self.batches[i % len(self.batches)])
                if i == 0:
                    self._started.wait()
                if self.stop.is_set():
                    return
        except BaseException as exc:  # reported by __exit__
            self.errors.append(exc)
            self._started.abort()

    def __enter__(self) -> "Background":
        for t in self.threads:
            t.start()
        try:
            self._started.wait()
        except threading.BrokenBarrierError:  # a thread failed: stop the others, raise its error
            self.__exit__()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop.set()
        for t in self.threads:
            t.join()
        if self.errors:
            raise self.errors[0]
        return False


@pytest.mark.parametrize("task", ["cls", "det"])
def test_gradcam_is_its_own_while_other_threads_run_the_models(task, models, small):
    photo = small(*CAM_PHOTO[task])
    alone = gradcam_overlay(models[task], photo)
    assert alone.shape == photo.shape and alone.std() > 10  # a real heatmap, not a flat one
    with Background(models, [small(*p) for p in OTHER_PHOTOS]):
        wrong = sum(not np.array_equal(gradcam_overlay(models[task], photo), alone) for _ in range(REPEATS))
    assert wrong == 0, f"{wrong} of {REPEATS} {task} heatmaps differ from the one computed alone"


def _inner_network(model: torch.nn.Module) -> torch.nn.Module:
    """The submodule every forward pass of `model` calls first (Classifier.net, NanoDet.graph)."""
    return model.net if model.task == "cls" else model.graph


@pytest.mark.parametrize("task", ["cls", "det"])
def test_gradcam_ignores_a_pass_that_runs_inside_its_own(task, models, small):
    """The same without any race: as the heatmap's own forward pass enters the network, other
    threads run a whole inference pass and a training-style pass (forward and backward) through
    the same model, and the heatmap's pass waits for them. Both go through the target layers
    while the heatmap's hooks are on them, before the heatmap's own activation."""
    model = models[task]
    photo, other = small(*CAM_PHOTO[task]), to_tensor(small(*OTHER_PHOTOS[0]))
    alone = gradcam_overlay(model, photo)
    main = threading.get_ident()
    ran: List[str] = []

    def infer() -> None:
        with torch.no_grad():
            model(other)
        ran.append("inference")

    def train() -> None:
        x = other.clone().requires_grad_(True)
        out = model(x)
        sum(v.float().mean() for v in (out.values() if isinstance(out, dict) else [out])).backward()
        ran.append("training" if x.grad is not None else "training without gradients")

    def interleave(module, args) -> None:
        # only the heatmap's own pass: this thread, with gradients to its input
        if threading.get_ident() == main and torch.is_grad_enabled() and args[0].requires_grad and not ran:
            for fn in (infer, train):
                t = threading.Thread(target=fn)
                t.start()
                t.join()

    handle = _inner_network(model).register_forward_pre_hook(interleave)
    try:
        during = gradcam_overlay(model, photo)
    finally:
        handle.remove()
    assert ran == ["inference", "training"]
    assert np.array_equal(during, alone), f"other threads' passes changed the {task} heatmap"


def _heatmaps(result) -> Dict[str, np.ndarray]:
    out = {"uncompressed/cls": result.uncompressed.cam_classifier, "uncompressed/det": result.uncompressed.cam_detector}
    for name, r in result.methods.items():
        out[f"{name}/cls"] = r.analysis.cam_classifier
        out[f"{name}/det"] = r.analysis.cam_detector
    return out


def test_concurrent_compares_give_the_single_threaded_heatmaps(offline_photo_path, tmp_path):
    """Several compares in flight at once (half of them naming the default models explicitly,
    which gives them a second vision suite around the same shared models) show exactly the
    heatmaps each photo gets when compared alone."""
    sources = [CAM_PHOTO["cls"], CAM_PHOTO["det"], *OTHER_PHOTOS]
    photos = []
    for source, file in sources:  # saved small, then read as the app reads an upload
        path = tmp_path / f"{file}.png"
        save_png(resize_shorter_side(load_rgb(offline_photo_path(source, file)), SIDE), path)
        photos.append(load_photo(path, file))
    explicit = {"classifier": "efficientnet_lite1", "detector": "nanodet"}

    def run(pipe: ComparePipeline, i: int, tag: str):
        work = tmp_path / f"{tag}{i}"
        work.mkdir()
        kwargs = explicit if i % 2 else {}
        return pipe.compare(photos[i], "jpeg", 37, work, methods=["plain"], heatmaps=True, **kwargs)

    alone_pipe = ComparePipeline()  # its own caches: nothing computed concurrently is reused
    alone = [_heatmaps(run(alone_pipe, i, "alone")) for i in range(len(photos))]
    for maps in alone:
        assert all(m is not None for m in maps.values())
    busy_pipe = ComparePipeline()
    with ThreadPoolExecutor(len(photos)) as pool:
        busy = [_heatmaps(f.result()) for f in [pool.submit(run, busy_pipe, i, "busy") for i in range(len(photos))]]
    wrong = [f"{sources[i][1]} {k}" for i in range(len(photos)) for k in alone[i]
             if not np.array_equal(busy[i][k], alone[i][k])]
    total = sum(len(m) for m in alone)
    assert not wrong, f"{len(wrong)} of {total} heatmaps differ from single-threaded compares: {wrong}"

