"""The built-in landscapes: deterministic, well-formed, varied, and not colourable from L alone."""

import argparse
import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lab
import mountains

# Within a narrow (2-wide) L bin, the mean distance of a pixel's ab to the bin's mean ab. The best
# colouring that is a function of L alone (recolour_by_lightness) measures a median of about 0.7
# over the bins and at most about 2 in any bin (rounding and gamut clipping); the landscapes
# measure a median of about 13 and at least 4.5 in every bin of L 10-90 (dark and bright pixels
# have the least chroma); real photos measure 8-23 in 20-wide bins (tools/colour_stats.py).
MEDIAN_AB_SPREAD = 6.0
MIN_AB_SPREAD = 3.0
L_BIN_WIDTH = 2.0


def ab_spread_per_l_bin(images, min_share=0.005, lightness_range=(10.0, 90.0)):
    """Spread of ab in each narrow L bin that holds at least `min_share` of the pixels.

    Near black and near white hold little chroma in any photo, so those bins are left out.
    """
    pixels = lab.rgb_to_lab(images).reshape(-1, 3)
    lo, hi = lightness_range
    pixels = pixels[(pixels[:, 0] >= lo) & (pixels[:, 0] < hi)]
    bins = np.floor(pixels[:, 0] / L_BIN_WIDTH).astype(int)
    spreads = {}
    for b in np.unique(bins):
        ab = pixels[bins == b, 1:]
        if len(ab) >= min_share * len(pixels):
            spreads[int(b)] = float(np.mean(np.hypot(*(ab - ab.mean(axis=0)).T)))
    return spreads


def recolour_by_lightness(images):
    """The same images coloured by the best function of L alone: each L bin's mean ab."""
    pixels = lab.rgb_to_lab(images)
    flat = pixels.reshape(-1, 3)
    bins = np.clip((flat[:, 0] * 4).astype(int), 0, 400)  # 0.25-wide L steps
    counts = np.bincount(bins, minlength=401)
    for channel in (1, 2):
        sums = np.bincount(bins, weights=flat[:, channel], minlength=401)
        flat[:, channel] = (sums / np.maximum(counts, 1))[bins]
    return lab.lab_to_rgb_uint8(pixels)


def sample_images(count, size, seed=7):
    return np.stack([mountains.render_landscape((seed, i), size) for i in range(count)])


def test_same_seed_gives_same_bytes():
    assert mountains.render_landscape((3, 5), 48).tobytes() == \
        mountains.render_landscape((3, 5), 48).tobytes()
    assert mountains.render_landscape(11, 32).tobytes() == \
        mountains.render_landscape(11, 32).tobytes()


def test_different_seeds_give_different_images():
    images = [mountains.render_landscape((0, i), 32).tobytes() for i in range(6)]
    assert len(set(images)) == 6
    assert mountains.render_landscape((1, 0), 32).tobytes() != images[0]


def test_shape_and_dtype_at_several_sizes():
    for size in (8, 32, 33, 64, 97):
        image = mountains.render_landscape((0, size), size)
        assert image.shape == (size, size, 3)
        assert image.dtype == np.uint8


def test_too_small_size_is_rejected():
    try:
        mountains.render_landscape(0, 2)
    except ValueError as error:
        assert "size" in str(error)
    else:
        raise AssertionError("size 2 was accepted")


def test_images_are_not_flat_or_clipped():
    images = sample_images(24, 32)
    per_image_std = images.reshape(len(images), -1).std(axis=1)
    assert per_image_std.min() > 5.0
    saturated = np.mean((images == 0) | (images == 255))
    assert saturated < 0.05


def test_colour_is_not_a_function_of_lightness():
    images = sample_images(240, 32)
    spreads = ab_spread_per_l_bin(images)
    assert len(spreads) >= 20, "the images should cover a wide range of lightness"
    assert np.median(list(spreads.values())) > MEDIAN_AB_SPREAD, spreads
    assert min(spreads.values()) > MIN_AB_SPREAD, spreads


def test_lightness_only_recolouring_fails_the_same_measure():
    images = sample_images(60, 32)
    spreads = ab_spread_per_l_bin(recolour_by_lightness(images))
    assert np.median(list(spreads.values())) < MEDIAN_AB_SPREAD / 3, spreads
    assert max(spreads.values()) < MIN_AB_SPREAD, spreads


def test_scene_kinds_vary():
    scenes = [mountains.scene_of((0, i)) for i in range(300)]
    assert {s.sky for s in scenes} == set(mountains.SKIES)
    assert {s.season for s in scenes} == set(mountains.SEASONS)
    assert {s.ridges for s in scenes} == {2, 3, 4}
    for kind, share in (("lake", np.mean([s.lake for s in scenes])),
                        ("snow", np.mean([s.has_snow for s in scenes])),
                        ("visible sun", np.mean([s.sun_visible for s in scenes]))):
        assert 0.05 < share < 0.8, f"{kind} in {share:.0%} of scenes"
    assert {s.foreground for s in scenes} == set(mountains.FOREGROUNDS)
    horizons = [s.horizon for s in scenes]
    assert max(horizons) - min(horizons) > 0.2


def test_scene_is_the_one_rendered():
    scene = mountains.scene_of((4, 2))
    rng = np.random.default_rng((4, 2))
    assert mountains.sample_scene(rng) == scene
    rendered = mountains.render_scene(scene, rng, 32)
    assert rendered.tobytes() == mountains.render_landscape((4, 2), 32).tobytes()


def test_sunset_scenes_are_warmer_than_clear_ones():
    warm = {"sunset": [], "clear": []}
    for i in range(120):
        scene = mountains.scene_of((5, i))
        if scene.sky in warm:
            image_lab = lab.rgb_to_lab(mountains.render_landscape((5, i), 24))
            warm[scene.sky].append(image_lab[:8, :, 2].mean())  # b* of the upper sky
    assert np.mean(warm["sunset"]) > np.mean(warm["clear"]) + 10


def test_contact_sheet_is_a_png_of_the_expected_size(tmp_path):
    out = tmp_path / "sheet.png"
    assert mountains.main(["--contact-sheet", str(out), "--count", "6", "--size", "20",
                           "--columns", "3", "--seed", "1"]) == 0
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (3 * 20 + 2 * 2, 2 * 20 + 1 * 2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_full_colour_contact_sheet_holds_the_rendered_pixels(tmp_path):
    out = tmp_path / "sheet.png"
    mountains.main(["--contact-sheet", str(out), "--count", "2", "--size", "16", "--seed", "3",
                    "--full-colour"])
    with Image.open(out) as sheet:
        assert sheet.mode == "RGB"
        pixels = np.asarray(sheet)
    assert pixels[:, :16].tobytes() == mountains.render_landscape((3, 0), 16).tobytes()
    assert pixels[:, 18:34].tobytes() == mountains.render_landscape((3, 1), 16).tobytes()


def test_contact_sheet_shows_boulders_and_golden_sunsets_when_asked(tmp_path):
    out = tmp_path / "sheet.png"
    mountains.main(["--contact-sheet", str(out), "--count", "1", "--columns", "1", "--size", "16",
                    "--seed", "3", "--boulders", "1", "--golden", "1", "--full-colour"])
    with Image.open(out) as sheet:
        pixels = np.asarray(sheet)
    expected = mountains.render_landscape((3, 0), 16, boulders=1.0, golden=1.0)
    assert pixels.tobytes() == expected.tobytes()
    assert expected.tobytes() != mountains.render_landscape((3, 0), 16).tobytes()
    with pytest.raises(SystemExit) as exit_info:
        mountains.main(["--contact-sheet", str(tmp_path / "x.png"), "--boulders", "2"])
    assert exit_info.value.code == 2


def test_contact_sheet_rejects_a_bad_count(tmp_path):
    try:
        mountains.main(["--contact-sheet", str(tmp_path / "x.png"), "--count", "0"])
    except SystemExit as error:
        assert error.code != 0
    else:
        raise AssertionError("--count 0 was accepted")


def test_ridges_standing_mostly_in_a_lake_are_left_out():
    shore = 60.0
    far = np.full(100, 30.0)  # the farthest ridge stays even when low
    clear = np.full(100, 40.0)  # clears the water everywhere
    islands = np.full(100, 70.0)
    islands[10:20] = 50.0  # a few peaks above the shore: they would read as islands
    crests, bases, distances = mountains.above_water(
        [far, clear, islands], [64.0, 80.0, 100.0], [1.0, 0.5, 0.1], shore, margin=2.0)
    assert [c is far for c in crests] == [True, False]
    assert crests[1] is clear
    assert bases == [64.0, 80.0] and distances == [1.0, 0.5]


# --------------------------------------------------------------------------- fingerprint


def mountains_source():
    return Path(mountains.__file__).read_text(encoding="utf-8")


def test_fingerprint_ignores_comments_docstrings_and_the_cli():
    source = mountains_source()
    edited = source.replace('    """One landscape as uint8 sRGB', '    """A landscape as uint8 sRGB')
    edited = edited.replace("# --------------------------------------------------------------------"
                            "------- contact sheet", "# contact sheet, renamed")
    edited = edited.replace('default=32, help="number of landscapes"',
                            'default=16, help="how many landscapes"')
    edited += "\n# a trailing comment\n"
    assert edited != source
    assert mountains.rendering_code_sha256(edited) == mountains.rendering_sha256()


def test_fingerprint_changes_when_a_colour_or_a_rendering_function_changes():
    source = mountains_source()
    assert "SNOW = (0.80, 0.83, 0.88)" in source and "image = develop" not in source
    recoloured = source.replace("SNOW = (0.80, 0.83, 0.88)", "SNOW = (0.80, 0.83, 0.89)")
    redrawn = source.replace("    return develop(image, rng)", "    return develop(image * 1.01, rng)")
    for changed in (recoloured, redrawn):
        assert changed != source
        assert mountains.rendering_code_sha256(changed) != mountains.rendering_sha256()


def test_fingerprint_changes_with_the_version_and_with_the_rendering_code(monkeypatch):
    current = mountains.generator_fingerprint()
    assert json.loads(json.dumps(current)) == current  # dataset.py stores it in meta.json
    assert mountains.generator_fingerprint() == current  # stable within a process
    version = mountains.GENERATOR_VERSION
    source = mountains_source()
    bumped = source.replace(f"GENERATOR_VERSION = {version}", f"GENERATOR_VERSION = {version + 1}")
    assert bumped != source
    # a bumped version alone leaves the code hash as it is, so the version must tell the change
    assert mountains.rendering_code_sha256(bumped) == mountains.rendering_code_sha256(source)
    monkeypatch.setattr(mountains, "GENERATOR_VERSION", version + 1)
    assert mountains.generator_fingerprint() != current
    monkeypatch.setattr(mountains, "GENERATOR_VERSION", version)
    assert mountains.generator_fingerprint() == current
    recoloured = source.replace("SNOW = (0.80, 0.83, 0.88)", "SNOW = (0.80, 0.83, 0.89)")
    monkeypatch.setattr(mountains, "rendering_sha256",
                        lambda: mountains.rendering_code_sha256(recoloured))
    assert mountains.generator_fingerprint() != current


def render_with_foreground(seed, foreground, size=64):
    scene = dataclasses.replace(mountains.scene_of(seed), foreground=foreground, lake=False)
    rng = np.random.default_rng(seed)
    mountains.sample_scene(rng)  # the same stream as render_landscape from here on
    return lab.rgb_to_lab(mountains.render_scene(scene, rng, size))


def test_foreground_conifers_are_green_and_textured():
    for i in range(40):
        scene = mountains.scene_of((9, i))
        if scene.season != "summer":  # conifers stay green in every season
            plain = render_with_foreground((9, i), "none")
            trees = render_with_foreground((9, i), "conifers")
            covered = np.abs(trees - plain).max(axis=-1) > 8  # where a tree stands
            assert covered.mean() > 0.02
            assert np.median(trees[covered, 1]) < -2  # a* < 0: green
            fine = np.abs(np.diff(trees[..., 0], axis=1))[covered[:, 1:]]
            assert np.mean(fine) > 2.0  # needles: pixel-scale light and shadow
            return
    raise AssertionError("no non-summer scene among the seeds tried")


def test_boulders_paint_only_the_foreground_of_the_landscapes_that_draw_them():
    plain = [mountains.render_landscape((4, i), 32) for i in range(24)]
    half = [mountains.render_landscape((4, i), 32, boulders=0.5) for i in range(24)]
    every = [mountains.render_landscape((4, i), 32, boulders=1.0) for i in range(24)]
    assert all(a.tobytes() == b.tobytes()
               for a, b in zip(plain, [mountains.render_landscape((4, i), 32, boulders=0.0)
                                       for i in range(24)]))
    changed = [a.tobytes() != b.tobytes() for a, b in zip(plain, half)]
    assert 4 <= sum(changed) <= 20  # about half, each landscape as it is without them
    assert all(a.tobytes() != b.tobytes() for a, b in zip(plain, every))
    for a, b in zip(plain, every):
        assert np.array_equal(a[:12], b[:12])  # boulders start below 0.42 of the height
    for a, b in zip(every, [mountains.render_landscape((4, i), 32, boulders=1.0)
                            for i in range(24)]):
        assert a.tobytes() == b.tobytes()
    for share in (-0.1, 1.5):
        with pytest.raises(ValueError, match="boulders"):
            mountains.render_landscape(0, 32, boulders=share)


def test_boulders_are_pale_low_chroma_rock_with_pixel_scale_texture():
    for i in range(40):
        rgb = mountains.render_landscape((5, i), 64, boulders=1.0)
        plain = mountains.render_landscape((5, i), 64)
        scene = mountains.scene_of((5, i))
        if scene.sky == "sunset" or scene.foreground != "none":
            continue  # warm light tints rock; plants in front hide it
        painted = np.any(rgb != plain, axis=2)
        painted[:-8] = False  # the bottom rows, where the boulders stand nearest
        if painted.sum() < 100:
            continue
        lab_pixels = lab.rgb_to_lab(rgb)[painted]
        assert np.median(np.hypot(lab_pixels[:, 1], lab_pixels[:, 2])) < 20  # rock, not leaves
        lightness = lab.rgb_to_lab(rgb)[..., 0]
        fine = np.abs(np.diff(lightness, axis=1))[painted[:, 1:] & painted[:, :-1]]
        assert np.mean(fine) > 1.5  # grain and cracks, not a flat fill
        return
    raise AssertionError("no plain fair-weather scene with boulders among the seeds tried")


def with_and_without(seed, count, size, **option):
    """(scene, plain landscape, the same landscape with a rendering option) for seeds (seed, i)."""
    for i in range(count):
        yield (mountains.scene_of((seed, i)),
               mountains.render_landscape((seed, i), size),
               mountains.render_landscape((seed, i), size, **option))


def test_golden_sunsets_glow_warm_overhead_and_other_skies_stay_as_they_were():
    warmer = 0
    for scene, plain, golden in with_and_without(6, 40, 32, golden=1.0):
        if scene.sky != "sunset":
            assert golden.tobytes() == plain.tobytes()
            continue
        top_b = [lab.rgb_to_lab(image[:4])[..., 2].mean() for image in (plain, golden)]
        warmer += top_b[1] > top_b[0] + 5  # yellower overhead, not bluer
    assert warmer >= 3


def test_bright_overhead_skies_are_brighter_at_the_top_and_still_blue():
    brighter = 0
    for scene, plain, bright in with_and_without(8, 30, 32, overhead=1.0):
        if scene.sky not in ("clear", "hazy"):
            assert bright.tobytes() == plain.tobytes()
            continue
        before, after = lab.rgb_to_lab(plain[:3]), lab.rgb_to_lab(bright[:3])
        clouds = np.abs(after[..., 0] - before[..., 0]) < 1  # a cloud covers the sky here
        if clouds.mean() > 0.5:
            continue
        assert after[..., 0].mean() > before[..., 0].mean() + 3
        assert after[~clouds][:, 2].mean() < -3  # pale, but blue
        brighter += 1
    assert brighter >= 5


def test_cast_shadows_darken_and_cool_sunlit_land_and_leave_overcast_scenes_as_they_were():
    shaded_scenes = 0
    for scene, plain, shaded in with_and_without(7, 30, 64, shadows=1.0):
        if scene.sky == "overcast":
            assert shaded.tobytes() == plain.tobytes()  # no sun, no cast shadow
            continue
        before, after = lab.rgb_to_lab(plain), lab.rgb_to_lab(shaded)
        darker = after[..., 0] < before[..., 0] - 8  # in the shadow
        if darker.sum() < 200:
            continue  # the shadow's edge fell low, or land is scarce in this frame
        top = max(int((scene.horizon - 0.25) * 64), 0)  # above the highest edge cast_shadow draws
        assert np.array_equal(shaded[:top], plain[:top])
        assert after[darker][:, 2].mean() < before[darker][:, 2].mean()  # bluer: skylight
        shaded_scenes += 1
    assert shaded_scenes >= 5


def test_twilight_darkens_a_sunsets_land_keeps_its_sky_and_leaves_other_skies_as_they_were():
    darkened = skies = 0
    for scene, plain, dusk in with_and_without(9, 80, 32, twilight=1.0):
        if scene.sky != "sunset":
            assert dusk.tobytes() == plain.tobytes()
            continue
        if scene.foreground != "conifers":  # trees in front can reach the top
            top = max(int((scene.horizon - 0.45) * 32), 0)  # above the highest crest
            assert np.array_equal(dusk[:top], plain[:top])
            skies += top > 0
        bottom = slice(int(0.85 * 32), None)  # the nearest land or water
        before, after = (lab.rgb_to_lab(image[bottom])[..., 0].mean() for image in (plain, dusk))
        darkened += after < before - 5
    assert darkened >= 5 and skies >= 2


def test_alpenglow_lights_clear_days_land_warm_under_a_blue_sky_and_leaves_other_skies_alone():
    warmer = blue = land_scenes = 0
    for scene, plain, glow in with_and_without(10, 40, 32, alpenglow=1.0):
        if scene.sky != "clear":
            assert glow.tobytes() == plain.tobytes()
            continue
        blue += lab.rgb_to_lab(glow[:2])[..., 2].mean() < -5  # the sky overhead
        if scene.lake:
            continue  # water mirrors the blue sky
        land_scenes += 1
        nearest = slice(int(0.85 * 32), None)
        before, after = (lab.rgb_to_lab(image[nearest])[..., 1:].sum(axis=-1).mean()
                         for image in (plain, glow))
        warmer += after > before + 5  # a + b: toward orange, as the low sun's light is
    assert land_scenes >= 10 and warmer >= 0.75 * land_scenes and blue >= 20


def test_patchy_dries_part_of_green_meadows_and_leaves_other_seasons_alone():
    drier = green_scenes = 0
    for scene, plain, patchy in with_and_without(12, 40, 32, patchy=1.0):
        if scene.season not in mountains.GREEN_SEASONS:
            assert patchy.tobytes() == plain.tobytes()
            continue
        green_scenes += 1
        change = lab.rgb_to_lab(patchy)[..., 1:] - lab.rgb_to_lab(plain)[..., 1:]
        changed = np.abs(change).max(axis=-1) > 1
        # a rises where the grass has dried: from green toward yellow-brown
        drier += changed.mean() > 0.01 and change[..., 0][changed].mean() > 1
    assert green_scenes >= 20 and drier >= 0.75 * green_scenes


@pytest.mark.parametrize("option", ["boulders", "golden", "shadows", "overhead", "twilight",
                                    "alpenglow", "patchy"])
def test_a_share_of_zero_is_the_plain_render_and_one_outside_zero_to_one_is_refused(option):
    for seed in ((7, 1), (8, 1)):
        assert mountains.render_landscape(seed, 32, **{option: 0.0}).tobytes() == \
            mountains.render_landscape(seed, 32).tobytes()
    for share in (-0.5, 1.5):
        with pytest.raises(ValueError, match=option):
            mountains.render_landscape(0, 32, **{option: share})


@pytest.mark.parametrize("option, value", [("zoom", 3.0), ("fine", 1.75)])
def test_zoom_or_fine_of_one_is_the_plain_render_and_more_a_deterministic_larger_one(option,
                                                                                     value):
    """zoom crops a larger render, fine brings all of it down to size."""
    plain = mountains.render_landscape((2, 3), 32)
    assert mountains.render_landscape((2, 3), 32, **{option: 1.0}).tobytes() == plain.tobytes()
    larger = [mountains.render_landscape((2, i), 32, **{option: value}) for i in range(8)]
    assert all(image.shape == (32, 32, 3) and image.dtype == np.uint8 for image in larger)
    assert larger[3].tobytes() == mountains.render_landscape((2, 3), 32,
                                                             **{option: value}).tobytes()
    assert larger[3].tobytes() != plain.tobytes()
    with pytest.raises(ValueError, match=option):
        mountains.render_landscape(0, 32, **{option: 0.5})


def test_zoom_and_fine_together_are_refused():
    with pytest.raises(ValueError, match="both"):
        mountains.render_landscape(0, 32, zoom=2.0, fine=1.5)


def test_the_command_lines_offer_every_share_that_render_landscape_takes():
    parameters = inspect.signature(mountains.render_landscape).parameters
    assert list(mountains.SHARES) == [name for name in parameters
                                      if name not in ("seed", "size", "zoom", "fine", "sunsets")]
    parser = argparse.ArgumentParser()
    mountains.add_share_arguments(parser)
    assert vars(parser.parse_args([])) == {**dict.fromkeys(mountains.SHARES, 0.0),
                                           "sunsets": parameters["sunsets"].default}


def test_sky_weights_put_sunsets_at_their_share_and_keep_the_other_skies_proportions():
    assert mountains.sky_weights() == mountains.SKY_WEIGHTS  # the very same floats
    default = dict(zip(mountains.SKIES, mountains.SKY_WEIGHTS))
    for sunsets in (0.0, 0.6, 1.0):
        weights = dict(zip(mountains.SKIES, mountains.sky_weights(sunsets)))
        assert weights.pop("sunset") == sunsets
        assert sum(weights.values()) == pytest.approx(1 - sunsets)
        for sky in ("hazy", "overcast"):  # in the proportions the generator gives them
            assert weights[sky] * default["clear"] == pytest.approx(weights["clear"] * default[sky])


def test_more_sunsets_change_only_the_landscapes_whose_sky_they_redraw():
    skies = [mountains.scene_of((6, i), 0.6).sky for i in range(400)]
    assert 0.5 < skies.count("sunset") / len(skies) < 0.7  # 0.18 by default
    assert {mountains.scene_of((6, i), 1.0).sky for i in range(50)} == {"sunset"}
    assert "sunset" not in {mountains.scene_of((6, i), 0.0).sky for i in range(200)}
    kept = redrawn = 0
    for i in range(24):
        plain = mountains.render_landscape((6, i), 24)
        more = mountains.render_landscape((6, i), 24, sunsets=0.6)
        if mountains.scene_of((6, i)).sky == skies[i]:
            kept += 1
            assert more.tobytes() == plain.tobytes()
        else:
            redrawn += 1
            assert more.tobytes() != plain.tobytes()
    assert kept >= 4 and redrawn >= 4
    with pytest.raises(ValueError, match="sunsets"):
        mountains.render_landscape(0, 32, sunsets=1.5)


def test_every_share_has_its_skies_and_its_description_in_the_same_order():
    # render_landscape draws each share's random stream in SHARE_SKIES' order; the command
    # lines offer SHARES: a share added to one table only would be missing or mis-seeded
    assert list(mountains.SHARE_SKIES) == list(mountains.SHARES)
    assert all(set(skies) <= set(mountains.SKIES) for skies in mountains.SHARE_SKIES.values())
