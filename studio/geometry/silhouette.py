"""A surface for what the face mesh does not cover (hair, ears, neck, body), inflated from the
person's silhouette: each place rises like a round tube's cross-section with its distance from the
backdrop, so its normal faces the camera inside and turns outwards towards the outline, a little
past side-on at the outline itself (hair and skin there catch light from behind: a rim light).
Its normals join the mesh's with no step, and its height gives the neck a depth for the shadows."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SilhouetteConfig:
    radius: float = 0.35     # distance from the outline (x face width) at which the surface faces the camera
    rim_tilt: float = 20.0   # degrees past side-on that the normal turns at the outline itself
    smooth: float = 0.08     # blur of the distance and of the normals (x radius): no ridge where two outlines meet


def silhouette_surface(person: np.ndarray, face_width: float, config: SilhouetteConfig = SilhouetteConfig()
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For `person` (HxW, 0..1, on the grid where `face_width` is measured): HxWx3 unit normals
    (image axes, z away from the camera) and the HxW height above the backdrop, in grid pixels."""
    radius = max(2.0, config.radius * face_width)
    sigma = max(0.5, config.smooth * radius)
    inside = (person > 0.5).astype(np.uint8)
    # distance into the silhouette; a photo's edge is not an outline (the body goes on past it)
    padded = cv2.copyMakeBorder(inside, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    distance = cv2.GaussianBlur(distance, (0, 0), sigma)
    t = np.clip(distance / radius, 0.0, 1.0)
    # a circle's cross-section: at depth d into it the normal leans arcsin(1 - d/r) from the camera
    lean = np.arcsin(1.0 - t) * (1.0 + np.radians(config.rim_tilt) / (np.pi / 2))
    gy, gx = np.gradient(distance)
    norm = np.hypot(gx, gy)
    outwards = np.stack([-gx, -gy], axis=2) / np.maximum(norm, 1e-6)[:, :, None]
    outwards *= np.clip(norm / 0.2, 0.0, 1.0)[:, :, None]   # on a ridge the distance is flat: no direction
    normals = np.concatenate([np.sin(lean)[:, :, None] * outwards, -np.cos(lean)[:, :, None]], axis=2)
    normals = cv2.GaussianBlur(normals.astype(np.float32), (0, 0), sigma)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True).clip(1e-9)
    height = radius * np.sqrt(np.clip(1.0 - (1.0 - t) ** 2, 0.0, 1.0))
    return normals, height.astype(np.float32)
