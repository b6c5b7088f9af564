"""The offline animatic previews the plan: the camera word drives a measurable move, one legible caption
at a time, the segment's prompt on screen in keyframe mode, deterministic output. Real mp4s, decoded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import frames_of
from tests.offline.motion import divergence, shift
from ttv.backends.base import VideoRequest
from ttv.backends.offline.animatic import AnimaticBackend, AnimaticOptions
from ttv.backends.offline.camera import read_move
from ttv.backends.offline.caption import picture_height, strip_image
from ttv.backends.offline.card import render_card

W, H, FPS = 256, 144, 12
HP = picture_height(W, H)
SCENE = "Wide shot: a pine forest on rolling hills under clouds, a cottage by the trees"


class Ctx:
    job_id = None

    def progress(self, *args: Any, **kwargs: Any) -> None:
        pass

    def event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def remember_job(self, *args: Any, **kwargs: Any) -> None:
        pass


def render(tmp: Path, camera: str, *, prompt: str = SCENE, mode: str = "keyframe", first: Path | None = None,
           last: Path | None = None, duration: float = 1.5, name: str = "clip", seed: int = 5, index: int = 1,
           **options: Any) -> list[np.ndarray]:
    req = VideoRequest(segment_id="s001", prompt=prompt, duration=duration, width=W, height=H, fps=FPS, seed=seed,
                       first_image=first, last_image=last, extra={"mode": mode, "camera": camera, "index": index})
    out = tmp / f"{name}.mp4"
    AnimaticBackend(AnimaticOptions(**options)).generate(req, out, Ctx())
    return frames_of(out)


def card(tmp: Path, prompt: str, name: str, seed: int = 1) -> Path:
    path = tmp / f"{name}.png"
    render_card(prompt, W, H, seed, label=name).save(path)
    return path


def pic(frame: np.ndarray) -> np.ndarray:
    return frame[:HP]


# ---- the camera word ----------------------------------------------------------------------------

@pytest.mark.parametrize(("words", "name"), [
    ("static camera", "static"), ("locked-off", "static"), ("", "static"), ("medium shot", "static"),
    ("gentle pan right", "pan right"), ("pan left", "pan left"), ("slow truck left", "pan left"),
    ("tilt up", "tilt up"), ("tilts down to the floor", "tilt down"),
    ("slow push in", "push in"), ("dolly in", "push in"), ("zoom in", "push in"),
    ("slow dolly out", "pull out"), ("pull back to reveal", "pull out"), ("pull out", "pull out"),
    ("crane up", "crane up"), ("crane down", "crane down"), ("slow orbit", "orbit right"),
    ("orbit left", "orbit left"), ("handheld drift", "handheld"), ("handheld shake", "handheld"),
])
def test_camera_words_name_a_move(words, name):
    assert read_move(words).name == name


def test_camera_field_wins_over_the_prompt_and_speed_words_scale_it():
    assert read_move("static camera", "Tracking shot: she runs, fast pan left").name == "static"
    assert read_move("", "Close-up: the door, slow push in").name == "push in"  # no camera field: the prompt
    assert read_move("slow pan left").speed < read_move("pan left").speed < read_move("whip pan left").speed


def test_every_heuristic_camera_moves_except_static():
    from ttv.backends.offline.heuristic import CAMERA

    names = {c: read_move(c).name for c in CAMERA}
    assert names["static camera"] == "static"
    assert all(n != "static" for c, n in names.items() if c != "static camera"), names


def _mid_shift(frames: list[np.ndarray]) -> tuple[float, float]:
    n = len(frames)
    return shift(pic(frames[n // 3]), pic(frames[2 * n // 3]))


@pytest.mark.parametrize(("camera", "axis", "sign"), [
    ("pan right", "x", -1), ("gentle pan left", "x", +1), ("tilt up", "y", +1), ("tilt down", "y", -1),
    ("crane up", "y", +1), ("crane down", "y", -1), ("slow orbit", "x", -1), ("orbit left", "x", +1),
])
def test_translating_moves_go_the_way_the_camera_word_says(tmp_path, camera, axis, sign):
    frames = render(tmp_path, camera)
    dx, dy = _mid_shift(frames)
    along, across = (dx, dy) if axis == "x" else (dy, dx)
    assert along * sign > 2.0, (camera, dx, dy)  # several pixels, the right way
    assert abs(along) > 2 * abs(across), (camera, dx, dy)  # and mostly along that axis


@pytest.mark.parametrize(("camera", "sign"), [("slow push in", +1), ("dolly in", +1), ("pull out", -1),
                                              ("slow dolly out", -1)])
def test_push_in_grows_and_pull_out_shrinks_the_picture(tmp_path, camera, sign):
    frames = render(tmp_path, camera)
    n = len(frames)
    a, b = pic(frames[n // 3]), pic(frames[2 * n // 3])
    div = divergence(a, b)
    assert div * sign > 3.0, (camera, div)
    # About the centre: opposite sides move apart (or together) by about as much, no sideways drift.
    w = a.shape[1]
    left, right = shift(a[:, : w // 3], b[:, : w // 3])[0], shift(a[:, -(w // 3):], b[:, -(w // 3):])[0]
    assert left * right < 0 and abs(left + right) < 0.5 * abs(right - left), (camera, left, right)


def test_static_camera_holds_still(tmp_path):
    frames = render(tmp_path, "static camera")
    first = frames[0].astype(int)
    assert max(np.abs(f.astype(int) - first).mean() for f in frames) < 0.5


def test_static_camera_in_keyframe_mode_only_dissolves(tmp_path):
    a, b = card(tmp_path, "a sunny meadow at noon", "k000"), card(tmp_path, "a desert at dusk", "k001")
    frames = render(tmp_path, "static camera", first=a, last=b)
    for f0, f1 in zip(frames, frames[1:], strict=False):
        dx, dy = shift(pic(f0), pic(f1))
        assert abs(dx) < 0.3 and abs(dy) < 0.3


def test_handheld_shakes_without_going_anywhere(tmp_path):
    frames = render(tmp_path, "handheld shake", duration=2.0)
    steps = [shift(pic(frames[i]), pic(frames[i + 1])) for i in range(len(frames) - 1)]
    xs = [dx for dx, _ in steps if abs(dx) > 0.15]
    assert sum(1 for p, q in zip(xs, xs[1:], strict=False) if p * q < 0) >= 2  # it changes direction
    total = shift(pic(frames[0]), pic(frames[-1]))
    assert abs(total[0]) < 1.5 and abs(total[1]) < 1.5  # and comes back to rest


def test_the_move_reads_through_the_dissolve_between_keyframes(tmp_path):
    a = card(tmp_path, "a pine forest at noon with a cottage", "k000")
    b = card(tmp_path, "a city skyline at dusk", "k001")
    frames = render(tmp_path, "pan right", first=a, last=b, duration=2.0)
    n = len(frames)
    for i in range(n // 3, 2 * n // 3):  # the dissolve: both pictures travel left together
        dx, _ = shift(pic(frames[i]), pic(frames[i + 2]))
        assert dx < -0.5, (i, dx)


# ---- captions -----------------------------------------------------------------------------------

def _strip(frame: np.ndarray) -> np.ndarray:
    return frame[HP:].astype(int)


def _which(frame: np.ndarray, candidates: dict[str, np.ndarray]) -> str:
    """The one caption this frame's strip shows: close to it, and far from every other."""
    errs = {k: float(np.abs(_strip(frame) - v).mean()) for k, v in candidates.items()}
    best = min(errs, key=lambda k: errs[k])
    assert errs[best] < 6.0, errs  # lossy H.264 on small coloured text
    assert all(e > 2 * errs[best] + 6 for k, e in errs.items() if k != best), errs
    return best


def test_keyframe_mode_shows_the_keyframe_caption_at_the_ends_and_the_segment_prompt_in_between(tmp_path):
    from PIL import Image

    a = card(tmp_path, "Opening frame: a lighthouse on the sea at night", "k000")
    b = card(tmp_path, "Closing image: a harbour at dawn, boats at rest", "k001")
    prompt = "Medium shot: the keeper climbs the lighthouse stairs, slow push in"
    frames = render(tmp_path, "slow push in", prompt=prompt, first=a, last=b, duration=2.0)
    strips = {"start": np.asarray(Image.open(a))[HP:].astype(int), "end": np.asarray(Image.open(b))[HP:].astype(int),
              "segment": np.asarray(strip_image(prompt, "s001 · push in", W, H)).astype(int)}
    shown = [_which(f, strips) for f in frames]
    # One caption at a time, in order, the segment's prompt for most of the clip.
    runs = [k for i, k in enumerate(shown) if i == 0 or shown[i - 1] != k]
    assert runs == ["start", "segment", "end"], shown
    assert shown.count("segment") >= len(shown) // 2
    # The last frame is exactly the end keyframe (lossy codec aside): the next clip continues from it.
    assert np.abs(frames[-1].astype(int) - np.asarray(Image.open(b)).astype(int)).mean() < 5


def test_editing_the_segment_prompt_changes_the_keyframe_mode_clip(tmp_path):
    a, b = card(tmp_path, "a meadow", "k000"), card(tmp_path, "a beach", "k001")
    one = render(tmp_path, "pan left", prompt="the hero waits", first=a, last=b, name="one")
    two = render(tmp_path, "pan left", prompt="the hero runs away into the hills", first=a, last=b, name="two")
    mid = len(one) // 2
    assert np.abs(_strip(one[mid]) - _strip(two[mid])).mean() > 5


def test_chain_mode_captions_the_segment_throughout(tmp_path):
    from PIL import Image

    start = card(tmp_path, "a snowy mountain village in winter", "prev")
    prompt = "Aerial shot: a boat sails across the sea at sunset, crane up"
    frames = render(tmp_path, "crane up", prompt=prompt, first=start, mode="chain")
    segment = np.asarray(strip_image(prompt, "s001 · crane up", W, H)).astype(int)
    assert all(np.abs(_strip(f) - segment).mean() < 3 for f in frames)
    # It starts from the given frame's picture and ends on this segment's own card (a sea at sunset: blue below).
    assert np.abs(pic(frames[0]).astype(int) - np.asarray(Image.open(start))[:HP].astype(int)).mean() < 12
    end = pic(frames[-1]).astype(float)
    assert end[HP // 2:, :, 2].mean() > end[HP // 2:, :, 0].mean()


def test_chain_mode_first_clip_moves_over_its_start_keyframe_alone(tmp_path):
    """The first keyframe already is the first segment's picture: a static shot of it holds it, a pan pans it."""
    from PIL import Image

    start = card(tmp_path, "a lighthouse on the coast at dawn", "k000")
    still = render(tmp_path, "static camera", first=start, mode="chain", index=0, name="still")
    want = np.asarray(Image.open(start))[:HP].astype(int)
    assert max(np.abs(pic(f).astype(int) - want).mean() for f in still) < 3
    pan = render(tmp_path, "pan left", first=start, mode="chain", index=0, name="pan")
    assert _mid_shift(pan)[0] > 2.0


@pytest.mark.parametrize("camera", ["whip pan left", "fast tilt down", "fast pull out", "orbit", "handheld shake"])
@pytest.mark.parametrize("start", [False, True])
def test_the_fastest_moves_never_run_off_the_picture(tmp_path, camera, start):
    """At the largest options, a lone picture (our own card, or chaining's first keyframe) still fills the frame."""
    first = card(tmp_path, "a sunny meadow at noon", "k000") if start else None
    frames = render(tmp_path, camera, prompt="a sunny meadow at noon", first=first, mode="chain", index=0,
                    travel=0.25, zoom=0.5)
    for f in frames:
        p = pic(f).astype(float)
        edges = [p[:, :2].mean(), p[:, -2:].mean(), p[:2].mean(), p[-2:].mean()]
        assert min(edges) > 40, edges  # no black margin along any edge


# ---- determinism ----------------------------------------------------------------------------------

def test_same_inputs_same_bytes(tmp_path):
    a, b = card(tmp_path, "a forest", "k000"), card(tmp_path, "a city", "k001")
    render(tmp_path, "slow orbit", first=a, last=b, name="x")
    render(tmp_path, "slow orbit", first=a, last=b, name="y")
    assert (tmp_path / "x.mp4").read_bytes() == (tmp_path / "y.mp4").read_bytes()
    render(tmp_path, "pan left", first=a, last=b, name="z")
    assert (tmp_path / "x.mp4").read_bytes() != (tmp_path / "z.mp4").read_bytes()
