"""lab.py, the colour contract: agreement with skimage, round trips and model scaling.

Tolerances: Lab values are stored as float32, whose rounding near L* = 100 is about
1e-5; 1e-3 Lab units is far below anything visible (a just-noticeable difference is ~1).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from skimage import color

import helpers
import lab

LAB_TOLERANCE = 1e-3  # Lab units
RGB_TOLERANCE = 1e-4  # sRGB in [0, 1]


@pytest.fixture
def rgb_uint8():
    """Random colours plus the corners of the RGB cube (black, white, primaries)."""
    rng = np.random.default_rng(0)
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)])
    pixels = np.concatenate([corners, rng.integers(0, 256, (4088, 3))]).astype(np.uint8)
    return pixels.reshape(64, 64, 3)


def test_rgb_to_lab_matches_skimage(rgb_uint8):
    expected = color.rgb2lab(rgb_uint8.astype(np.float64) / 255.0)
    ours = lab.rgb_to_lab(rgb_uint8)
    assert ours.dtype == np.float32
    assert np.abs(ours - expected).max() < LAB_TOLERANCE


def test_lab_to_rgb_matches_skimage(rgb_uint8):
    lab_image = color.rgb2lab(rgb_uint8.astype(np.float64) / 255.0)
    assert np.abs(lab.lab_to_rgb(lab_image) - color.lab2rgb(lab_image)).max() < RGB_TOLERANCE


def test_float_and_uint8_rgb_give_the_same_lab(rgb_uint8):
    from_float = lab.rgb_to_lab(rgb_uint8.astype(np.float64) / 255.0)
    assert np.abs(lab.rgb_to_lab(rgb_uint8) - from_float).max() < LAB_TOLERANCE


def test_rgb_lab_rgb_round_trip_is_exact_in_uint8(rgb_uint8):
    assert np.array_equal(lab.lab_to_rgb_uint8(lab.rgb_to_lab(rgb_uint8)), rgb_uint8)


def test_lab_rgb_lab_round_trip_within_tolerance(rgb_uint8):
    lab_image = lab.rgb_to_lab(rgb_uint8)
    again = lab.rgb_to_lab(lab.lab_to_rgb(lab_image))
    assert np.abs(again - lab_image).max() < 0.05  # float32 sRGB in between


def test_float32_precision_stays_close_to_float64(rgb_uint8):
    fast = lab.rgb_to_lab(rgb_uint8, dtype=np.float32)
    assert np.abs(fast - lab.rgb_to_lab(rgb_uint8)).max() < 0.01


def test_out_of_gamut_lab_is_clipped_silently():
    wild = np.array([[[50.0, 120.0, -120.0], [100.0, -100.0, 100.0], [0.0, 0.0, 0.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb = lab.lab_to_rgb(wild)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0


def test_out_of_gamut_clipping_gives_skimages_colours():
    """b* beyond the bound where skimage sets Z to 0: lab_to_rgb clips b* there itself, and
    must land on the same colours that skimage's own clipping gives."""
    rng = np.random.default_rng(3)
    wild = np.stack([rng.uniform(0, 100, 4096), rng.uniform(-128, 128, 4096),
                     rng.uniform(-128, 128, 4096)], axis=-1).reshape(64, 64, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = np.clip(color.lab2rgb(wild), 0.0, 1.0)
    assert (wild[..., 2] > 200.0 * (wild[..., 0] + 16.0) / 116.0).sum() > 100  # clipped ones
    assert np.abs(lab.lab_to_rgb(wild) - expected).max() < RGB_TOLERANCE
    assert np.array_equal(lab.lab_to_rgb_uint8(wild), np.round(expected * 255.0))


def test_threaded_conversions_leave_the_warning_filters_alone():
    """colorize.py converts bands in threads. Silencing skimage with warnings.catch_warnings
    there could leave an "ignore UserWarning" filter behind for good, hiding every later one."""
    wild = np.tile([[50.0, 120.0, -120.0], [20.0, 0.0, 120.0]], (500, 1))  # skimage warns
    lab.lab_to_rgb(wild)  # skimage's lazily imported code is loaded before the snapshot
    filters = list(warnings.filters)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: lab.lab_to_rgb(wild, np.float32), range(400)))
    assert warnings.filters == filters
    with warnings.catch_warnings(record=True) as shown:
        warnings.warn("an unrelated warning", UserWarning)
    assert [str(warning.message) for warning in shown] == ["an unrelated warning"]


def test_split_and_join_lab_round_trip(rgb_uint8):
    lab_image = lab.rgb_to_lab(rgb_uint8)
    lightness, ab = lab.split_lab(lab_image)
    assert lightness.shape == (64, 64, 1) and ab.shape == (64, 64, 2)
    assert np.array_equal(lab.join_lab(lightness, ab), lab_image)


def test_rgb_to_l_gives_the_known_lightness_of_black_white_gray_and_the_primaries():
    # CIE L* (D65) of sRGB colours, from the standard's formulas: mid-gray 119 is L* 50.04
    known = {(0, 0, 0): 0.0, (255, 255, 255): 100.0, (119, 119, 119): 50.04,
             (255, 0, 0): 53.24, (0, 255, 0): 87.73, (0, 0, 255): 32.30}
    rgb = np.array([list(known)], np.uint8)
    lightness = lab.rgb_to_l(rgb)
    assert lightness.shape == (1, len(known), 1)
    assert lightness[0, :, 0] == pytest.approx(list(known.values()), abs=0.05)


def test_l_normalisation_maps_0_100_to_minus_one_one():
    assert np.allclose(lab.encode_l(np.array([0.0, 50.0, 100.0])), [-1.0, 0.0, 1.0])


def test_l_normalisation_round_trip():
    lightness = np.random.default_rng(1).uniform(0, 100, (8, 8, 1)).astype(np.float32)
    assert np.abs(helpers.decode_l(lab.encode_l(lightness)) - lightness).max() < 1e-5


def test_ab_normalisation_maps_128_to_one():
    assert np.allclose(lab.encode_ab(np.array([-128.0, 0.0, 128.0])), [-1.0, 0.0, 1.0])


def test_ab_normalisation_round_trip():
    ab = np.random.default_rng(2).uniform(-110, 110, (8, 8, 2)).astype(np.float32)
    assert np.abs(lab.decode_ab(lab.encode_ab(ab)) - ab).max() < 1e-5


def test_ab_of_real_colours_fits_the_tanh_range(rgb_uint8):
    ab = lab.split_lab(lab.rgb_to_lab(rgb_uint8))[1]
    assert np.abs(lab.encode_ab(ab)).max() <= 1.0


def test_rgb_without_three_channels_is_refused():
    with pytest.raises(ValueError, match="3 channels"):
        lab.rgb_to_lab(np.zeros((4, 4, 4), np.uint8))
