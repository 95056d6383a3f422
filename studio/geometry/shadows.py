"""Shadows the face casts on itself (the nose on the cheek and the upper lip, the brows on the
eyes), from a shadow map of the face mesh: the mesh seen from the light (an orthographic view
along its direction) gives, at each place, the depth of the surface nearest the light; a point of
the face seen by the camera lies in shadow when the light meets something nearer first. The
result is softened, as light from a lamp or a window is never a point."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.geometry.warp import rasterize_mesh


@dataclass(frozen=True)
class ShadowConfig:
    bias: float = 0.03        # depth tolerance (x face width): a surface does not shadow itself
    softness: float = 0.025   # blur of the shadow's edge (x face width)
    margin: float = 0.05      # the shadow map reaches this far past the mesh (x face width)


def _light_frame(direction: np.ndarray) -> np.ndarray:
    """Rows: the light view's x and y axes and its depth axis (away from the light)."""
    depth = -np.asarray(direction, float) / np.linalg.norm(direction)
    up = np.array([0.0, 1.0, 0.0]) if abs(depth[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, depth)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(depth, x), depth])


def cast_shadow(points: np.ndarray, triangles: np.ndarray, direction: np.ndarray, seen: np.ndarray,
                covered: np.ndarray, scale: float, config: ShadowConfig = ShadowConfig()) -> np.ndarray:
    """How much of the light from `direction` (unit, towards the light, image axes) each place the
    camera sees misses because the face is in its way: 0 lit .. 1 in shadow, 0 off the mesh.
    `seen` (HxWx3) is the 3D point of the mesh at each place of a grid at `scale` of the photo and
    `covered` where the mesh is (as rasterize_mesh draws them, the nearest surface last)."""
    p = np.asarray(points, float)[:, :3]
    face_width = float(np.ptp(p[:, 0]))
    frame = _light_frame(direction)
    seen_by_light = p @ frame.T
    # the shadow map: nearest to the light drawn last
    order = np.argsort(-seen_by_light[triangles, 2].mean(axis=1), kind="stable")
    pad = config.margin * face_width
    low, high = seen_by_light[:, :2].min(axis=0) - pad, seen_by_light[:, :2].max(axis=0) + pad
    light_box = (int(np.floor(low[0])), int(np.floor(low[1])), int(np.ceil(high[0])), int(np.ceil(high[1])))
    values = np.column_stack([seen_by_light[:, 2], np.ones(len(p))])
    depth_map = rasterize_mesh(seen_by_light, triangles[order], values, light_box, scale)
    there = seen @ frame.T
    # where each camera place falls on the shadow map's grid (rasterize_mesh's pixel centres)
    h, w = depth_map.shape[:2]
    sx, sy = w / (light_box[2] - light_box[0]), h / (light_box[3] - light_box[1])
    map_x = ((there[:, :, 0] - light_box[0] + 0.5) * sx - 0.5).astype(np.float32)
    map_y = ((there[:, :, 1] - light_box[1] + 0.5) * sy - 0.5).astype(np.float32)
    nearest = cv2.remap(depth_map[:, :, 0], map_x, map_y, cv2.INTER_LINEAR, borderValue=np.inf)
    mapped = cv2.remap(depth_map[:, :, 1], map_x, map_y, cv2.INTER_LINEAR, borderValue=0) > 0.99
    shadow = (covered & mapped & (there[:, :, 2] > nearest + config.bias * face_width)).astype(np.float32)
    sigma = max(0.5, config.softness * face_width * scale)
    # fading to nothing at the edge of what receives it: cut off there, a shadow reaching the side
    # of the face under a top light drew a step along the mesh's outline, where hair and ears begin
    inside = cv2.GaussianBlur(covered.astype(np.float32), (0, 0), sigma)
    return cv2.GaussianBlur(shadow, (0, 0), sigma) * np.clip(2 * inside - 1, 0, 1) * covered
