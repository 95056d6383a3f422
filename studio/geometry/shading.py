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
from studio.geometry.silhouette import SilhouetteConfig, silhouette_surface
from studio.geometry.surface import Surface
from studio.geometry.warp import rasterize_mesh

DEFAULT_AMBIENT = 0.4
DEFAULT_TEMPERATURE = 6500.0
# From any side: 90 is side-on, 180 straight from behind (a rim light on the outline).
AZIMUTH_LIMIT, ELEVATION_LIMIT = 180.0, 90.0
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
    grid_max_side: int = 1024     # ... and the grid's longest side at most (a crowd's photo)
    normal_blur: float = 0.04     # blur of the mesh normals, relative to face width
    face_blend: float = 0.06      # the mesh's normals blend into the silhouette's over this (x face width)
    head_scale: tuple[float, float] = (1.15, 1.3)  # ellipsoid half axes / the outline's, x and y
    head_depth: float = 0.9       # ellipsoid depth half axis / its x half axis
    fade: float = 0.3             # the head's edge fades to the background over this part of its radius
    photographed_floor: float = 0.6  # the photo's own light on a surface side-on to the camera, at least
    neck_depth: float = 0.35      # how far the neck's front lies behind the chin (x face width)
    ratio_range: tuple[float, float] = (0.15, 2.0)
    shadows: ShadowConfig = field(default_factory=ShadowConfig)
    silhouette: SilhouetteConfig = field(default_factory=SilhouetteConfig)


def relight(pixels: np.ndarray, faces: list[np.ndarray], surface: Surface, light: Lighting,
            config: ShadingConfig = ShadingConfig(), person: np.ndarray | None = None) -> np.ndarray:
    """`pixels` (HxWxC uint8, RGB or RGBA) under `light`; `faces` are the 478x3 landmarks of every
    face in them (each is shaded by its own normals); `person` (HxW uint8 of any size: where the
    person is, studio.face.segmentation) shapes the hair, neck and body, which are otherwise taken
    as an ellipsoid around each face. The default light returns an exact copy."""
    if light.is_default:
        return pixels.copy()
    height, width = pixels.shape[:2]
    lit = light_field(light, (height, width), faces, surface, config, person)
    colour = light.colour()
    tinted = not np.allclose(colour, 1)
    colour = (colour - 1).astype(np.float32)
    gain, direct = lit.at(width, height, person, with_direct=tinted)
    out = pixels.copy()
    # In bands of rows: float copies of a whole 50 MP photo would cost gigabytes.
    for top in range(0, height, RELIGHT_ROWS):
        bottom = min(height, top + RELIGHT_ROWS)
        gains = gain[top:bottom, :, None]
        if tinted:   # the light's colour on its own share of each pixel's light
            gains = gains * (1 + direct[top:bottom, :, None] * colour) ** (1 / GAMMA)
        out[top:bottom, :, :3] = np.clip(pixels[top:bottom, :, :3] * gains + 0.5, 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class LightField:
    """The new light over a photo, on a grid smaller than it (the light is smooth): the gain on the
    sRGB pixels of the person's surface (the linear light's ratio to the power 1/2.2) and the share
    of that light which is direct, how much of each place is the person's surface (the face meshes
    and, without a person mask, the ellipsoids), and the backdrop's own gain and direct share."""

    gain: np.ndarray
    direct: np.ndarray
    weight: np.ndarray
    background: float
    background_share: float

    def at(self, width: int, height: int, person: np.ndarray | None = None, with_direct: bool = True
           ) -> tuple[np.ndarray, np.ndarray | None]:
        """Gain and direct share (None unless `with_direct`) over the whole photo (HxW float32),
        the person's surface blended into the backdrop by the person mask at the mask's own,
        finer, resolution: the silhouette's edge is the photo's, so its light changes exactly
        where the photo does, with no halo beside it. Composed at that resolution and brought to
        the photo's size in one resize each (the light is smooth; only the mask's edge is not)."""
        size = (self.gain.shape[1], self.gain.shape[0])
        weight = self.weight
        if person is not None:
            size = (max(size[0], person.shape[1]), max(size[1], person.shape[0]))
            weight = np.maximum(_sized(weight, size), _sized(person.astype(np.float32) / 255.0, size))
        weight = _sized(weight, size)
        gain = self.background + weight * (_sized(self.gain, size) - self.background)
        direct = None
        if with_direct:
            direct = self.background_share + weight * (_sized(self.direct, size) - self.background_share)
            direct = _sized(direct, (width, height))
        return _sized(gain, (width, height)), direct


def _sized(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`grid` (spanning the whole photo) at `size` (width, height), bilinearly."""
    grid = np.asarray(grid, np.float32)
    return grid if (grid.shape[1], grid.shape[0]) == size else cv2.resize(grid, size, interpolation=cv2.INTER_LINEAR)


def light_field(light: Lighting, shape: tuple[int, int], faces: list[np.ndarray], surface: Surface,
                config: ShadingConfig = ShadingConfig(), person: np.ndarray | None = None) -> LightField:
    """The new light over a photo of `shape` (see LightField) from the faces' meshes, with the
    person mask's silhouette (or an ellipsoid per head) around them and the chin's shadow on the neck."""
    height, width = shape
    widths = [float(np.ptp(np.asarray(p)[FACE_OVAL, 0])) for p in faces]
    scale = min(1.0, config.grid_max_side / max(height, width),
                config.grid_face_px / max(max(widths, default=width / 3), 1.0))
    small_w, small_h = max(2, round(width * scale)), max(2, round(height * scale))
    sx, sy = small_w / width, small_h / height
    xs = (np.arange(small_w) + 0.5) / sx - 0.5   # photo x of each grid column, as cv2.resize has it
    ys = (np.arange(small_h) + 0.5) / sy - 0.5

    # The surface beyond the face meshes: the person's silhouette inflated, or an ellipsoid per head.
    normals = np.zeros((small_h, small_w, 3), np.float32)
    normals[:, :, 2] = -1.0
    weight = np.zeros((small_h, small_w), np.float32)   # 0 backdrop .. 1 the person's surface
    relief, inside = None, None
    if person is not None:
        inside = cv2.resize(person.astype(np.float32) / 255.0, (small_w, small_h), interpolation=cv2.INTER_AREA)
        # the silhouette's surface is smoother still: worked out on a grid half as fine
        half = (max(2, small_w // 2), max(2, small_h // 2))
        normals, relief = silhouette_surface(cv2.resize(inside, half, interpolation=cv2.INTER_AREA),
                                             max(widths, default=width / 3) * scale * half[0] / small_w,
                                             config.silhouette)
        normals = cv2.resize(normals, (small_w, small_h), interpolation=cv2.INTER_LINEAR)
        relief = cv2.resize(relief, (small_w, small_h), interpolation=cv2.INTER_LINEAR) * small_w / half[0]
    else:
        for points in faces:
            head_normals, head_weight = _ellipsoid(np.asarray(points, float), xs, ys, config)
            wins = head_weight > weight
            normals[wins], weight[wins] = head_normals[wins], head_weight[wins]

    visible = np.ones((small_h, small_w), np.float32)
    for points, face_width in zip(faces, widths):
        points = np.asarray(points, float)
        # Each face's part of the grid: its mesh with room for the blends, and the neck below it.
        reach = face_width * scale
        x0, y0 = (np.floor(points[:, :2].min(axis=0) * [sx, sy]) - [reach, 0.3 * reach]).astype(int)
        x1, y1 = (np.ceil(points[:, :2].max(axis=0) * [sx, sy]) + [reach, 1.5 * reach]).astype(int)
        x0, x1, y0, y1 = max(0, x0), min(small_w, x1), max(0, y0), min(small_h, y1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        part = (slice(y0, y1), slice(x0, x1))
        # Farther triangles first, so where a turned face overlaps itself the nearer surface shows.
        triangles = surface.triangles[np.argsort(-points[surface.triangles, 2].mean(axis=1), kind="stable")]
        # one pass over the mesh gives, at each place, its normal, its 3D point (for the shadows) and coverage
        view = _rasterize_on_grid(points, triangles, np.column_stack([surface.normals(points), points[:, :3],
                                                                      np.ones(len(points))]), (sx, sy), (x0, y0, x1, y1))
        n_mesh, seen, covered = view[:, :, :3], view[:, :, 3:6], np.ascontiguousarray(view[:, :, 6])
        if not covered.any():
            continue
        sigma = max(0.5, config.normal_blur * reach)
        blend = max(0.5, config.face_blend * reach)
        keep = cv2.GaussianBlur(cv2.erode(covered, None, iterations=max(1, int(round(2 * blend)))), (0, 0), blend)
        n_mesh = cv2.GaussianBlur(n_mesh, (0, 0), sigma)
        mixed = normals[part] + keep[:, :, None] * (n_mesh - normals[part])
        normals[part] = mixed / np.linalg.norm(mixed, axis=2, keepdims=True).clip(1e-9)
        weight[part] = np.maximum(weight[part], keep)
        receives = covered > 0.5
        if relief is not None:
            # the neck and what hangs beside it, below the face, take the chin's shadow: a surface
            # set back from the chin by neck_depth and rounded like the silhouette
            chin = points[FACE_OVAL][np.argmax(points[FACE_OVAL, 1])]
            radius = config.silhouette.radius * face_width
            neck = (~receives & (inside[part] > 0.5) & (ys[y0:y1, None] > points[FACE_OVAL, 1].mean())
                    & (np.abs(xs[None, x0:x1] - chin[0]) < face_width))
            depth = chin[2] + config.neck_depth * face_width + radius - relief[part] / scale
            grid_x, grid_y = np.meshgrid(xs[x0:x1], ys[y0:y1])
            seen = np.where(neck[:, :, None], np.stack([grid_x, grid_y, depth], axis=2), seen).astype(np.float32)
            receives = receives | neck
        shade = cast_shadow(points, triangles, light.direction(), seen, receives, scale, config.shadows)
        visible[part] = np.minimum(visible[part], 1.0 - shade)

    default = Lighting()
    facing = normals @ light.direction()
    # The photo's own light is a studio's or the sky's: broad, so it wraps round the outline
    # further than a point light would (a point light leaves only the ambient there, and a new
    # light from the side would then brighten the outline into a glowing line).
    photographed = np.maximum(default.shading(normals @ default.direction()), config.photographed_floor)
    ratio = light.shading(facing, visible) / photographed
    return LightField(
        gain=(np.clip(ratio, *config.ratio_range) ** (1 / GAMMA)).astype(np.float32),
        direct=light.direct_share(facing, visible).astype(np.float32), weight=weight,
        background=float(light.shading(BACKGROUND_FACING) / default.shading(BACKGROUND_FACING)) ** (1 / GAMMA),
        background_share=float(light.direct_share(BACKGROUND_FACING)))


def _rasterize_on_grid(points: np.ndarray, triangles: np.ndarray, values: np.ndarray, scales: tuple[float, float],
                       box: tuple[int, int, int, int]) -> np.ndarray:
    """rasterize_mesh onto the part `box` (x0, y0, x1, y1 in grid cells) of the light's grid
    (`scales`: grid cells per photo pixel)."""
    grid = np.column_stack([(points[:, 0] + 0.5) * scales[0] - 0.5, (points[:, 1] + 0.5) * scales[1] - 0.5])
    x0, y0, x1, y1 = box
    return rasterize_mesh(grid, triangles, values, box)[:y1 - y0, :x1 - x0]


def _ellipsoid(points: np.ndarray, xs: np.ndarray, ys: np.ndarray, config: ShadingConfig
               ) -> tuple[np.ndarray, np.ndarray]:
    """An ellipsoid's normals around one face's outline over the grid (photo coordinates xs, ys),
    and its weight, fading to 0 inside its edge, where hair, not backdrop, usually is."""
    oval = points[FACE_OVAL, :2]
    centre = (oval.min(axis=0) + oval.max(axis=0)) / 2
    half = np.maximum((oval.max(axis=0) - oval.min(axis=0)) / 2 * np.array(config.head_scale), 1.0)
    u, v = np.meshgrid((xs - centre[0]) / half[0], (ys - centre[1]) / half[1])
    r2 = u ** 2 + v ** 2
    depth = np.sqrt(np.clip(1 - r2, 0, None))
    normals = np.stack([u / half[0], v / half[1], -depth / (config.head_depth * half[0])], axis=2)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True).clip(1e-9)
    weight = np.clip((1 - np.sqrt(r2)) / config.fade, 0, 1)
    return normals.astype(np.float32), (weight * weight * (3 - 2 * weight)).astype(np.float32)
