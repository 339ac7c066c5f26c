"""Procedural, photo-like mountain landscapes: the built-in data set (placeholder, being replaced)."""

import numpy as np


def render_landscape(seed, size=128):
    """One landscape as uint8 sRGB (size, size, 3), fully determined by `seed` (int or tuple of ints)."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, size)[:, None, None]
    sky = np.array([0.3, 0.5, 0.9]) * (1 - y) + np.array([0.8, 0.85, 0.95]) * y
    img = np.broadcast_to(sky, (size, size, 3)).copy()
    x = np.linspace(0, 1, size)
    ridge = 0.5 + 0.2 * np.sin(x * rng.uniform(3, 9) + rng.uniform(0, 6))
    below = y[:, :, 0] > ridge[None, :]
    img[below] = np.array([0.2, 0.45, 0.2]) * rng.uniform(0.6, 1.2)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
