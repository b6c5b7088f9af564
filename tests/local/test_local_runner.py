"""A 2-segment project rendered by the real runner (`ttv run`) with the tiny Wan first-last-frame
pipeline, in keyframe mode and in chain mode: clips, records, events and the stitched film."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ttv.core.media import probe
from ttv.core.tomlio import load_toml


def configure(root: Path, model: Path) -> None:
    toml = root / "ttv.toml"
    toml.write_text(toml.read_text() + f'\n[backends.wan]\nmodel = "{model}"\nsteps = 2\n')


@pytest.mark.parametrize("mode", ["keyframe", "chain"])
def test_two_segment_project_through_the_runner(mode: str, small_project: Any, cli: Any,
                                                wan_flf_model: Path) -> None:
    root = small_project(mode, segments=2, backend="wan")
    configure(root, wan_flf_model)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    for i in range(2):
        clip = probe(root / "clips" / f"s{i:03d}.mp4")
        # 1 s at Wan's native 16 fps = 16 frames -> 17 (4k+1), at the project's 160x96
        assert (clip.frames, clip.width, clip.height, clip.fps) == (17, 160, 96, 16.0)
        rec = load_toml(root / "clips" / f"s{i:03d}.toml")
        assert rec["status"] == "done"
    rec0 = load_toml(root / "clips" / "s000.toml")
    text = json.dumps(rec0)
    assert ("flf2v" if mode == "keyframe" else "i2v") in text
    final = probe(root / "final.mp4")
    assert final.frames > 0 and (final.width, final.height) == (160, 96)
    events = [json.loads(line) for line in (root / ".ttv" / "events.jsonl").read_text().splitlines()]
    steps = [(e.get("k"), e.get("n")) for e in events if e["type"] == "item.progress" and e.get("k")]
    assert steps.count((2, 2)) == 2  # each segment reported its last denoising step
    loads = [e for e in events if e["type"] == "model.loaded"]
    assert len(loads) == 1  # one worker, one load, two segments
