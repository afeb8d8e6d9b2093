"""The OCR engine, loaded once per process from the models its wheel ships: nothing is fetched at run time.

RapidOCR 3.10 (PP-OCRv6 small detection and recognition models, ONNX Runtime on the CPU) reads printed Chinese
form text nearly perfectly, and reads the boxes of a choice field as “☑”/“□” characters whose positions tell
where to look at the pixels. Measured against Debian's Tesseract ``chi_sim`` on the same cells (see the
closing note of issue 13): more characters right, and faster per page on two cores.

RapidOCR downloads a model when its configuration names none that exists; every model path is therefore given
explicitly, from the installed package, and checked before the engine is built, so a missing model is a coded
error (``SCAN_UNAVAILABLE``, raised like a failed conversion), never a network call. Lines are recognized in
batches without the detector: the cells were cut from the page's ruling and their lines from the ink already,
which is also what keeps a page within a few seconds on two cores.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.office.convert.protocol import ConversionError

#: The models the engine uses, all in the rapidocr wheel: text detection, recognition, direction classifier.
MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
          "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}

_lock = threading.Lock()
_engine: Any = None


@dataclass
class Recognized:
    """One line of text: what the engine read, its score (0–1), and each character with the horizontal centre
    it was read at (as a share of the line image's width) and its own score."""

    text: str
    confidence: float
    chars: list[tuple[str, float, float]] = field(default_factory=list)
    #: Characters the line may have lost: where the recognizer chose “nothing here” while giving another
    #: character a fair chance (a “。” under a seal's ring): (character, centre, its probability).
    missed: list[tuple[str, float, float]] = field(default_factory=list)


@dataclass
class Clock:
    """Seconds spent inside the engine, summed over calls (the bench prints it beside the total)."""

    seconds: float = 0.0
    calls: int = 0


def engine_name() -> str:
    """The engine and its models, as reports and the bench name them."""
    try:
        version = importlib.metadata.version("rapidocr")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return f"RapidOCR {version} (PP-OCRv6 small, onnxruntime)"


def _model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _threads() -> int:
    """Threads per inference: the service's OCR_THREADS, else at most two (the service shares its cores)."""
    try:
        wanted = int(os.environ.get("OCR_THREADS", "0"))
    except ValueError:
        wanted = 0
    return max(1, min(wanted or 2, os.cpu_count() or 1))


def engine() -> Any:
    """The process's one engine (built on first use; later calls reuse it)."""
    global _engine
    if _engine is not None:
        return _engine
    with _lock:
        if _engine is None:
            models = _model_dir()
            missing = [name for name in MODELS.values() if not (models / name).is_file()]
            if missing:  # a broken installation, not the file's fault: the service's error, not a refusal
                raise ConversionError("SCAN_UNAVAILABLE", detail=f"missing models: {', '.join(missing)}")
            from rapidocr import RapidOCR

            threads = _threads()
            params: dict[str, Any] = {
                "Global.log_level": "error",
                "Global.model_root_dir": str(models),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
            for part, name in MODELS.items():
                params[f"{part}.model_path"] = str(models / name)
            _engine = RapidOCR(params=params)
    return _engine


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image


#: How likely a character the decoding passed over must have been to make its line unsure.
MISSED = 0.1
#: Lines recognized in one inference: wider batches pad more, narrower ones call more often.
BATCH = 8


def recognize(lines: list[np.ndarray], clock: Clock | None = None) -> list[Recognized]:
    """Each image of one line of text, read without the detector, in batches of like widths.

    The recognizer's output is decoded here rather than by RapidOCR: the CTC probabilities give each character
    its place on the line, and its score counts the characters it cannot be told from once widths are folded
    (“，” and “,”, “（” and “(”) as agreeing, so a comma's width does not make a line unsure.
    """
    if not lines:
        return []
    eng = engine()
    started = time.perf_counter()
    with _lock:  # one inference at a time: the engine's state is shared
        rec = eng._load_rec_model()  # the recognizer alone (RapidOCR's own call takes one image at a time)
        chars = rec.postprocess_op.character
        same = _equivalents(chars)
        height = rec.rec_image_shape[1]
        images = [_as_rgb(x) for x in lines]
        order = sorted(range(len(images)), key=lambda i: images[i].shape[1] / max(images[i].shape[0], 1))
        out: list[Recognized | None] = [None] * len(images)
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            ratio = max([rec.rec_image_shape[2] / height] + [images[i].shape[1] / max(images[i].shape[0], 1)
                                                             for i in batch])
            norm = np.concatenate([rec.resize_norm_img(images[i], ratio)[np.newaxis] for i in batch])
            probs = rec.session(norm.astype(np.float32))
            for k, i in enumerate(batch):
                h, w = images[i].shape[:2]
                used = min(float(np.ceil(height * w / max(h, 1))), height * ratio)  # the line's share of the input
                out[i] = _decode(probs[k], chars, same, used / (height * ratio))
    if clock is not None:
        clock.seconds += time.perf_counter() - started
        clock.calls += 1
    return [r if r is not None else Recognized("", 0.0) for r in out]


@functools.lru_cache(maxsize=4)
def _equivalents_cached(chars: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(chars):
        groups.setdefault(unicodedata.normalize("NFKC", c) if len(c) == 1 else c, []).append(i)
    members = [()] * len(chars)
    for indices in groups.values():
        for i in indices:
            members[i] = tuple(indices)
    return tuple(members)


def _equivalents(chars: list[str]) -> tuple[tuple[int, ...], ...]:
    """For each class of the recognizer, the classes that are the same character in another width."""
    return _equivalents_cached(tuple(chars))


def _decode(probs: np.ndarray, chars: list[str], same: tuple[tuple[int, ...], ...], share: float) -> Recognized:
    """Greedy CTC decoding of one line: repeated classes collapsed, blanks dropped; each character's centre as
    a share of the line image's width, its score the probability of it or a width variant of it. A blank step
    where some other character than its neighbours (or a space) was likely is reported as possibly missed."""
    best = probs.argmax(axis=1)
    steps = probs.shape[0]
    found: list[tuple[str, float, float]] = []
    emitted: list[tuple[int, int]] = []
    scores: list[float] = []
    prev = 0
    for t, cls in enumerate(best):
        cls = int(cls)
        if cls != 0 and cls != prev:
            score = float(probs[t, list(same[cls])].sum()) if len(same[cls]) > 1 else float(probs[t, cls])
            found.append((chars[cls], min((t + 0.5) / steps / max(share, 1e-6), 1.0), min(score, 1.0)))
            emitted.append((t, cls))
            scores.append(score)
        prev = cls
    missed: list[tuple[str, float, float]] = []
    space = len(chars) - 1  # RapidOCR appends the space class last
    k = 0
    for t in np.flatnonzero(best == 0):
        while k < len(emitted) and emitted[k][0] < t:
            k += 1
        row = probs[t].copy()
        row[[0, space, *(emitted[j][1] for j in (k - 1, k) if 0 <= j < len(emitted))]] = 0.0
        other = int(row.argmax())
        if row[other] >= MISSED:
            missed.append((chars[other], min((t + 0.5) / steps / max(share, 1e-6), 1.0), float(row[other])))
    found = _cjk_widths(found)
    return Recognized("".join(ch for ch, _x, _s in found), float(np.mean(scores)) if scores else 0.0, found, missed)


_HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _cjk_widths(found: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Punctuation next to Chinese text in its full width (“同意推荐,” → “同意推荐，”), as Chinese is typed."""
    out = list(found)
    for i, (ch, x, score) in enumerate(found):
        if ch in _HALF_TO_FULL:
            near = [found[j][0] for j in (i - 1, i + 1) if 0 <= j < len(found) and not found[j][0].isspace()]
            if any(_is_cjk(n) for n in near):
                out[i] = (_HALF_TO_FULL[ch], x, score)
    return out
