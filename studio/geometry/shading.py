"""Relighting with a Lambertian ratio image from the face mesh's normals.

The photo is taken to be lit by the default light (frontal, ambient 0.4, white at 6500 K). A new
light multiplies each pixel by shading(new) / shading(default), where shading = ambient +
direct * max(0, n . L): the face takes its normals from the mesh, the rest of the head from an
ellipsoid around it, and everything else (background, body) the ratio of a surface turned half
towards the light. The ratio applies to linear light: on sRGB pixels it is a gain of ratio ** (1 / 2.2).
The light's colour tints only the light it brings: a pixel takes it in the share of its new light
that is direct, so what the new light does not reach (shade, the far side) keeps the photo's white
balance, and a warm key light reads as a light, not as a filter over the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import cv2
import numpy as np

from studio.errors import StudioError
from studio.face.mesh import FACE_OVAL
from studio.geometry.shadows import ShadowConfig, cast_shadow
from studio.geometry.surface import Surface
from studio.geometry.warp import rasterize_mesh

DEFAULT_AMBIENT = 0.4
DEFAULT_TEMPERATURE = 6500.0
# Beyond 60 degrees the light grazes the face: with no cast shadows in a ratio image, the lit
# side then darkens again (measured: the balance turns back at 60-75), so the controls stop there.
AZIMUTH_LIMIT, ELEVATION_LIMIT = 60.0, 60.0
INTENSITY_RANGE, AMBIENT_RANGE, TEMPERATURE_RANGE = (0.0, 2.0), (0.0, 1.0), (2500.0, 10000.0)
BACKGROUND_FACING = 0.5   # mean n . L of what is not the head
GAMMA = 2.2
RELIGHT_ROWS = 256      # rows relit at a time


@dataclass(frozen=True)
class Lighting:
    """Light in degrees: +azimuth comes from the image's right, +elevation from above."""

    azimuth: float = 0.0
    elevation: float = 0.0
    intensity: float = 1.0            # strength of the directional light, 1 = as photographed
    ambient: float = DEFAULT_AMBIENT  # light from all around
    temperature: float = DEFAULT_TEMPERATURE  # colour in kelvin; lower is warmer

    def __post_init__(self):
        checks = (("light azimuth", self.azimuth, (-AZIMUTH_LIMIT, AZIMUTH_LIMIT)),
                  ("light elevation", self.elevation, (-ELEVATION_LIMIT, ELEVATION_LIMIT)),
                  ("light intensity", self.intensity, INTENSITY_RANGE),
                  ("ambient", self.ambient, AMBIENT_RANGE),
                  ("colour temperature", self.temperature, TEMPERATURE_RANGE))
        for name, value, (low, high) in checks:
            if not low <= value <= high:
                raise StudioError(f"{name} must be within {low:g}..{high:g}, got {value:g}")

    @property
    def is_default(self) -> bool:
        return self == Lighting()

    def direction(self) -> np.ndarray:
        """Unit vector towards the light, in image axes (x right, y down, z away from the camera)."""
        az, el = np.radians([self.azimuth, self.elevation])
        return np.array([np.sin(az) * np.cos(el), -np.sin(el), -np.cos(az) * np.cos(el)])

    def shading(self, facing_light: np.ndarray, visible: np.ndarray | float = 1.0) -> np.ndarray:
        """Light reaching a surface whose normal has the given n . L (the default light gives 1
        head-on); `visible`: how much of the light is not blocked on its way (cast shadows)."""
        return self.ambient + self.intensity * (1 - DEFAULT_AMBIENT) * np.maximum(facing_light, 0) * visible

    def direct_share(self, facing_light: np.ndarray, visible: np.ndarray | float = 1.0) -> np.ndarray:
        """The part of shading(facing_light) that comes straight from the light (0 in full shade)."""
        direct = self.intensity * (1 - DEFAULT_AMBIENT) * np.maximum(facing_light, 0) * visible
        return direct / np.maximum(self.ambient + direct, 1e-6)

    def colour(self) -> np.ndarray:
        """Per-channel gains of the light's colour against the default's, at equal luminance."""
        gains = kelvin_rgb(self.temperature) / kelvin_rgb(DEFAULT_TEMPERATURE)
        return gains / (gains @ np.array([0.2126, 0.7152, 0.0722]))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


LIGHT_PRESETS = {
    "normal": Lighting(),
    "weak": Lighting(intensity=0.55, ambient=0.25),
    "dark": Lighting(intensity=0.25, ambient=0.1),
    # Side and top lights are stronger, as a photographer's key light is, so the lit side keeps
    # about the photo's exposure while the far side falls into shade.
    "left": Lighting(azimuth=-60, elevation=15, intensity=1.4, ambient=0.25),
    "right": Lighting(azimuth=60, elevation=15, intensity=1.4, ambient=0.25),
    "top": Lighting(elevation=55, intensity=1.35, ambient=0.3),
}


def light_preset(name: str) -> Lighting:
    if name not in LIGHT_PRESETS:
        raise StudioError(f"unknown light preset '{name}'; choose from {', '.join(LIGHT_PRESETS)}")
    return LIGHT_PRESETS[name]


def preset_name(light: Lighting) -> str | None:
    """The name of the light preset `light` is, or None."""
    return next((name for name, preset in LIGHT_PRESETS.items() if preset == light), None)


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """Linear RGB of a black body at `kelvin` (Tanner Helland's fit to Mitchell Charity's table)."""
    t = kelvin / 100.0
    red = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    green = 99.4708025861 * np.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    blue = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307)
    srgb = np.clip([red, green, blue], 1.0, 255.0) / 255.0
    return srgb ** GAMMA


@dataclass(frozen=True)
class ShadingConfig:
    grid_face_px: int = 128       # face width on the grid where the ratio is computed (it is smooth)
    normal_blur: float = 0.04     # blur of the mesh normals, relative to face width
    head_scale: tuple[float, float] = (1.15, 1.3)  # ellipsoid half axes / the outline's, x and y
    head_depth: float = 0.9       # ellipsoid depth half axis / its x half axis
    fade: float = 0.3             # the head's edge fades to the background over this part of its radius
    ratio_range: tuple[float, float] = (0.15, 2.0)
    shadows: ShadowConfig = field(default_factory=ShadowConfig)


def relight(pixels: np.ndarray, faces: list[np.ndarray], surface: Surface, light: Lighting,
            config: ShadingConfig = ShadingConfig()) -> np.ndarray:
    """`pixels` (HxWxC uint8, RGB or RGBA) under `light`; `faces` are the 478x3 landmarks of every
    face in them (each is shaded by its own normals). The default light returns an exact copy."""
    if light.is_default:
        return pixels.copy()
    height, width = pixels.shape[:2]
    default = Lighting()
    # Gains on the sRGB pixels: the linear-light ratio to the power 1/2.2.
    background = float(light.shading(BACKGROUND_FACING) / default.shading(BACKGROUND_FACING)) ** (1 / GAMMA)
    background_share = float(light.direct_share(BACKGROUND_FACING))
    colour = light.colour()
    tinted = not np.allclose(colour, 1)
    heads = [head_gain(points, surface, light, (height, width), background, config, background_share)
             for points in faces]
    if not tinted and abs(background - 1) < 1e-6:
        if not heads:
            return pixels.copy()
        # Only the heads change: work on the box around them.
        x0, y0 = min(b[0] for b, _, _ in heads), min(b[1] for b, _, _ in heads)
        x1, y1 = max(b[2] for b, _, _ in heads), max(b[3] for b, _, _ in heads)
    else:
        x0, y0, x1, y1 = 0, 0, width, height
    factor = np.full((y1 - y0, x1 - x0), background, np.float32)
    share = np.full((y1 - y0, x1 - x0), background_share, np.float32)
    for (bx0, by0, bx1, by1), gain, direct in heads:
        region = factor[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
        # Where two heads' boxes overlap, the one whose light differs more from the background wins.
        wins = np.abs(gain - background) > np.abs(region - background)
        np.copyto(region, gain, where=wins)
        np.copyto(share[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0], direct, where=wins)
    out = pixels.copy()
    colour = (colour - 1).astype(np.float32)
    # In bands of rows: float copies of a whole 50 MP photo would cost gigabytes.
    for top in range(y0, y1, RELIGHT_ROWS):
        bottom = min(y1, top + RELIGHT_ROWS)
        gains = factor[top - y0:bottom - y0, :, None]
        if tinted:   # the light's colour on its own share of each pixel's light
            gains = gains * (1 + share[top - y0:bottom - y0, :, None] * colour) ** (1 / GAMMA)
        out[top:bottom, x0:x1, :3] = np.clip(pixels[top:bottom, x0:x1, :3] * gains + 0.5, 0, 255).astype(np.uint8)
    return out


def head_gain(points: np.ndarray, surface: Surface, light: Lighting, shape: tuple[int, int],
              background: float, config: ShadingConfig = ShadingConfig(), background_share: float = 0.0
              ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
    """The photo box around one head, the gain on its sRGB pixels (the light ratio to the power
    1/2.2) and the share of its new light that is direct, fading to the background's at its edge."""
    points = np.asarray(points, float)
    oval = points[FACE_OVAL, :2]
    centre = (oval.min(axis=0) + oval.max(axis=0)) / 2
    half = (oval.max(axis=0) - oval.min(axis=0)) / 2 * np.array(config.head_scale)
    height, width = shape
    x0, y0 = np.floor(centre - half).astype(int).clip(0, [width, height])
    x1, y1 = np.ceil(centre + half).astype(int).clip(0, [width, height])
    box = (int(x0), int(y0), int(x1), int(y1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        empty = (max(0, y1 - y0), max(0, x1 - x0))   # off the photo
        return box, np.full(empty, background, np.float32), np.full(empty, background_share, np.float32)
    face_width = float(np.ptp(oval[:, 0]))
    scale = min(1.0, config.grid_face_px / max(face_width, 1.0))

    # The ellipsoid's normals, over the box (on the small grid).
    small_w, small_h = max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale))
    xs = x0 + (np.arange(small_w) + 0.5) * (x1 - x0) / small_w
    ys = y0 + (np.arange(small_h) + 0.5) * (y1 - y0) / small_h
    u, v = np.meshgrid((xs - centre[0]) / half[0], (ys - centre[1]) / half[1])
    r2 = u ** 2 + v ** 2
    depth = np.sqrt(np.clip(1 - r2, 0, None))
    normals = np.stack([u / half[0], v / half[1], -depth / (config.head_depth * half[0])], axis=2)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True).clip(1e-9)

    # The mesh's normals over the face, blended in with a feathered mask.
    # Farther triangles first, so where a turned face overlaps itself the nearer surface shows.
    triangles = surface.triangles[np.argsort(-points[surface.triangles, 2].mean(axis=1), kind="stable")]
    # one pass over the mesh gives, at each place, its normal, its 3D point (for the shadows) and coverage
    view = rasterize_mesh(points, triangles, np.column_stack([surface.normals(points), points[:, :3],
                                                              np.ones(len(points))]), box, scale)
    view = cv2.resize(view, (small_w, small_h)) if view.shape[:2] != (small_h, small_w) else view
    n_mesh, seen, covered = view[:, :, :3], view[:, :, 3:6], np.ascontiguousarray(view[:, :, 6])
    sigma = max(0.5, config.normal_blur * face_width * scale)
    keep = cv2.GaussianBlur(cv2.erode(covered, None, iterations=max(1, int(round(2 * sigma)))), (0, 0), sigma)
    n_mesh = cv2.GaussianBlur(n_mesh, (0, 0), sigma)
    normals = normals + keep[:, :, None] * (n_mesh - normals)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True).clip(1e-9)

    # what the face's own relief keeps from the light: the nose, brows and chin cast shadows
    visible = 1.0 - cast_shadow(points, triangles, light.direction(), seen, covered > 0.5, scale, config.shadows)
    default = Lighting()
    facing = normals @ light.direction()
    ratio = light.shading(facing, visible) / default.shading(normals @ default.direction())
    gain = np.clip(ratio, *config.ratio_range) ** (1 / GAMMA)
    # Fade to the background inside the ellipsoid's edge, where hair, not backdrop, usually is.
    weight = np.clip((1 - np.sqrt(r2)) / config.fade, 0, 1)
    weight = np.maximum(weight * weight * (3 - 2 * weight), keep)
    gain = background + weight * (gain - background)
    direct = background_share + weight * (light.direct_share(facing, visible) - background_share)
    size = (x1 - x0, y1 - y0)
    return (box, cv2.resize(gain.astype(np.float32), size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(direct.astype(np.float32), size, interpolation=cv2.INTER_LINEAR))
