"""Colour anchoring: a chain with a compounding colour cast per hop stays near the first clip with
anchoring on and drifts without it; the per-seam report shows before/after."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ttv.core import media
from ttv.core.media import colour

from .conftest import cast, scene_frame, write_clip

N, L = 6, 16  # clips, frames per clip


@pytest.fixture(scope="module")
def cast_chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("chain")
    return [write_clip(d / f"c{k}.mp4", (cast(scene_frame(t + k * L), k) for t in range(L)), 16) for k in range(N)]


def _clip_drift(out: Path) -> list[float]:
    """Delta E of each clip's mean colour (as stitched) from the uncast scene it shows."""
    frames = list(media.read_frames(out))
    drift = []
    for k in range(N):
        got = colour.mean_lab(np.concatenate(frames[k * L : (k + 1) * L]))
        truth = colour.mean_lab(np.concatenate([scene_frame(t + k * L) for t in range(L)]))
        drift.append(colour.delta_e(got, truth))
    return drift


def test_anchoring_stops_compounding_drift(cast_chain: list[Path], tmp_path: Path) -> None:
    plain = media.stitch(cast_chain, tmp_path / "plain.mp4", width=160, height=90, fps=16, report=True)
    anchored = media.stitch(
        cast_chain, tmp_path / "anchored.mp4", width=160, height=90, fps=16, color_match=True, report=True
    )
    assert plain.method == "copy" and anchored.method == "encode"
    assert plain.frames == anchored.frames == N * L
    off = _clip_drift(tmp_path / "plain.mp4")
    on = _clip_drift(tmp_path / "anchored.mp4")
    assert off[-1] > 20 and off == sorted(off), f"without anchoring the cast compounds: {off}"
    assert max(on) < 6, f"with anchoring every clip stays near the first: {on}"
    # the report shows the per-seam difference before and after
    seams = anchored.info["seams"]
    assert [s["seam"] for s in seams] == list(range(1, N))
    assert all(s["delta_e_after"] < s["delta_e_before"] for s in seams)
    assert all(s["drift_after"] < 8 < s["drift_before"] for s in seams[1:])
    assert anchored.info["color_match"][-1]["delta_e_to_anchor"] > 20
    # stream copy changes no pixel, so its report has after == before
    assert all(s["delta_e_after"] == s["delta_e_before"] for s in plain.info["seams"])
    assert len(plain.info["seams"]) == N - 1


def test_seam_report(cast_chain: list[Path]) -> None:
    rows = media.seam_report(cast_chain[:3])
    assert [r["seam"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"seam", "delta_e", "mad", "drift"}
    assert rows[1]["drift"] > rows[0]["drift"] > 3


def test_lab_round_trip_and_known_values() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    back = np.round(colour.lab_to_srgb(colour.srgb_to_lab(rgb)) * 255).astype(int)
    assert np.abs(back - rgb).max() <= 1
    assert colour.srgb_to_lab(np.array([255, 255, 255], np.uint8)) == pytest.approx([100, 0, 0], abs=1e-3)
    assert colour.srgb_to_lab(np.array([255, 0, 0], np.uint8)) == pytest.approx([53.24, 80.09, 67.20], abs=0.02)


def test_lut_matches_direct_transfer(tmp_path: Path) -> None:
    src = cast(scene_frame(3), 3)
    s, t = colour.lab_stats(src), colour.lab_stats(scene_frame(3))
    direct = colour.apply_transfer(src, s, t)
    assert colour.delta_e(colour.mean_lab(direct), t.mean) < 1.0
    lut = colour.transfer_lut(s, t, size=17)
    cube = colour.write_cube(lut, tmp_path / "x.cube")
    lines = cube.read_text().splitlines()
    assert "LUT_3D_SIZE 17" in lines and len([x for x in lines if x[:1].isdigit()]) == 17**3
    # identity transfer gives an identity LUT (red varies fastest)
    ident = colour.transfer_lut(t, t, size=5).reshape(-1, 3)
    assert ident[1] == pytest.approx([0.25, 0, 0], abs=1e-6) and ident[5] == pytest.approx([0, 0.25, 0], abs=1e-6)


def test_partial_strength_moves_part_of_the_way(cast_chain: list[Path], tmp_path: Path) -> None:
    half = media.stitch(cast_chain, tmp_path / "half.mp4", width=160, height=90, fps=16, color_match=True,
                        color_strength=0.5)  # fmt: skip
    assert half.method == "encode"
    drift = _clip_drift(tmp_path / "half.mp4")
    assert 6 < drift[-1] < 25, drift
