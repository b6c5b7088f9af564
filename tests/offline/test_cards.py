"""Storyboard cards differ with the prompt's words; captions are laid out without overlap and stay
legible at small sizes; the camera is part of an animatic clip's inputs."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest

from ttv.backends.offline.caption import MIN_FONT, layout, picture_height, strip_height
from ttv.backends.offline.card import render_card
from ttv.backends.offline.scene import read_scene
from ttv.core.tomlio import load_toml, write_toml

LONG = ("Wide establishing shot: A lighthouse keeper finds a message in a bottle washed up on the rocks after "
        "the storm, slow push in, watercolour storybook style with soft edges and warm light")
PROMPTS = ["x", "Close-up: her hands", LONG, "Detail insert: " + "supercalifragilistic" * 3 + " in the rain",
           "Medium shot: a caravan crosses the desert dunes at dawn, gentle pan right"]
SIZES = [(160, 96), (320, 180), (640, 360), (1280, 720), (180, 320), (1920, 1080)]


def _disjoint(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tag", ["", "s012 · push in"])
def test_caption_lines_never_overlap_and_stay_inside_the_strip(size, tag):
    w, h = size
    for prompt in PROMPTS:
        lay = layout(prompt, tag, w, h)
        assert lay.size >= MIN_FONT
        assert lay.strip == (0, h - strip_height(w, h), w, h)
        boxes = [line.box for line in lay.lines]
        for box in boxes:
            assert lay.strip[0] <= box[0] and box[2] <= lay.strip[2], (prompt, box)
            assert lay.strip[1] <= box[1] and box[3] <= lay.strip[3], (prompt, box)
        for a, b in combinations(boxes, 2):
            assert _disjoint(a, b), (prompt, size, a, b)


def test_small_frames_shorten_instead_of_shrinking_below_a_legible_size():
    small = layout(LONG, "s000 · push in", 160, 96)
    assert small.size == MIN_FONT and small.shortened
    text = " ".join(line.text for line in small.lines[1:])
    assert text.startswith("EST: A lighthouse") and text.endswith("...")  # storyboard shorthand, then an ellipsis
    big = layout(LONG, "s000 · push in", 1280, 720)
    assert not big.shortened and big.size > 2 * MIN_FONT
    assert " ".join(line.text for line in big.lines[1:]) == LONG  # all of it, at a large size


def test_words_keep_a_visible_gap_at_320x180():
    """Between every two words of a drawn caption there are at least 2 blank pixel columns."""
    from ttv.backends.offline.caption import _Measure

    prompt = "a man at the sea in a boat at dusk with a lighthouse"
    im = np.asarray(render_card(prompt, 320, 180, 1))[picture_height(320, 180):].astype(int)
    lay = layout(prompt, "", 320, 180)
    ink = np.abs(im - im[0, 0]).sum(axis=2) > 60
    measure = _Measure(lay.size)
    gaps = 0
    for line in lay.lines:
        rows = slice(line.box[1] - lay.strip[1], line.box[3] - lay.strip[1])
        x = line.x
        words = line.text.split(" ")
        for word in words[:-1]:
            x += measure.getlength(word)
            blank = ~ink[rows, :].any(axis=0)
            left, right = int(np.ceil(x)), int(np.floor(x + measure.gap))
            assert right - left >= 2 and blank[left:right].all(), (word, left, right)
            x += measure.gap
            gaps += 1
    assert gaps == len(prompt.split()) - len([line for line in lay.lines if line.text])


# ---- cards from words ---------------------------------------------------------------------------

def test_words_pick_time_setting_weather_and_subjects():
    s = read_scene("A lighthouse keeper rows a boat across the sea at night in the rain")
    assert (s.time, s.setting, s.weather) == ("night", "sea", "rain")
    assert {"lighthouse", "boat", "person"} <= set(s.subjects)
    assert read_scene("Detectives walk down a city street").setting == "city"
    assert read_scene("Camels cross the desert dunes at dawn").time == "dawn"
    assert read_scene("nothing in particular").setting == "field"


def _pic(prompt: str, seed: int = 3) -> np.ndarray:
    return np.asarray(render_card(prompt, 320, 180, seed))[: picture_height(320, 180)].astype(float)


def test_cards_differ_with_the_content():
    cards = {k: _pic(p) for k, p in {
        "night": "the sea at night", "day": "the sea at noon", "desert": "desert dunes at noon",
        "forest": "a pine forest at noon", "snow": "a snowy glacier at noon", "city": "a city skyline at noon",
        "dawn": "a meadow at dawn", "space": "a planet in space",
    }.items()}
    assert cards["night"].mean() < 0.5 * cards["day"].mean()  # night is dark
    lower = {k: v[v.shape[0] * 2 // 3:].mean(axis=(0, 1)) for k, v in cards.items()}  # the ground's colour (R, G, B)
    assert lower["day"][2] > lower["day"][0] + 40  # the sea is blue
    assert lower["desert"][0] > lower["desert"][2] + 60  # sand is warm
    assert lower["forest"][1] > lower["forest"][0] and lower["forest"][1] > lower["forest"][2]  # the forest green
    assert lower["snow"].min() > 170  # snow is white
    top = {k: v[: v.shape[0] // 5].mean(axis=(0, 1)) for k, v in cards.items()}
    assert top["dawn"][2] > top["dawn"][0]  # a dawn sky: deep blue above...
    assert cards["dawn"][int(cards["dawn"].shape[0] * 0.45)].mean(axis=0)[0] > top["dawn"][0] + 60  # ...warm low
    for (ka, a), (kb, b) in combinations(cards.items(), 2):
        assert np.abs(a - b).mean() > 12, (ka, kb)  # every pair looks different


def test_cards_are_deterministic_and_the_seed_only_nudges():
    a = np.asarray(render_card(LONG, 320, 180, 7, label="k000"))
    assert np.array_equal(a, np.asarray(render_card(LONG, 320, 180, 7, label="k000")))
    other_seed = np.asarray(render_card(LONG, 320, 180, 8, label="k000"))
    assert not np.array_equal(a, other_seed)
    assert np.abs(a.astype(float).mean(axis=(0, 1)) - other_seed.astype(float).mean(axis=(0, 1))).max() < 12


# ---- the camera decides an animatic clip --------------------------------------------------------

def test_camera_is_an_input_of_animatic_clips_only(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    assert plan["segments"][1]["camera"]
    assert load_toml(root / "clips" / "s001.toml")["inputs"]["camera"] == plan["segments"][1]["camera"]
    plan["segments"][1]["camera"] = "whip pan left"
    write_toml(root / "plan.toml", plan)
    why = json.loads(cli("status", "-p", root, "--why", "--json").stdout)
    items = {i["id"]: i for i in why["items"]}
    assert items["s001"]["status"] == "stale" and items["s000"]["status"] == "done"
    assert any("camera" in reason for reason in items["s001"]["why"]), items["s001"]

    from ttv.backends import registry

    # Backends that only read the prompt leave it out: their paid clips stay fresh when the camera is edited.
    assert registry.load_class("animatic").reads_camera is True
    assert not any(getattr(registry.load_class(n), "reads_camera", False) for n in ("runway", "veo", "fal", "minimax"))


def test_the_plan_camera_reaches_the_clip(small_project, cli):
    """End to end: the camera written in plan.toml decides the motion measured in the rendered clip."""
    from tests.helpers import frames_of
    from tests.offline.motion import shift

    root = small_project("chain", segments=3)
    assert cli("plan", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    for seg, camera in zip(plan["segments"], ["static camera", "pan left", "tilt down"], strict=True):
        seg["camera"] = camera
    write_toml(root / "plan.toml", plan)
    assert cli("run", "-p", root).exit_code == 0
    hp = picture_height(160, 96)
    moved = {}
    for i in range(3):
        frames = frames_of(root / "clips" / f"s{i:03d}.mp4")
        moved[i] = shift(frames[0][:hp], frames[2][:hp])  # before the dissolve gets going
    assert abs(moved[0][0]) < 0.3 and abs(moved[0][1]) < 0.3, moved  # the first clip holds its keyframe still
    assert moved[1][0] > 2.0 and abs(moved[1][0]) > 2 * abs(moved[1][1]), moved  # content goes right
    assert moved[2][1] < -0.8 and abs(moved[2][1]) > 2 * abs(moved[2][0]), moved  # content goes up
