"""The face mesh as a surface: MediaPipe's triangles, oriented, with the eyes and mouth closed,
its vertex normals, and which point mirrors which across the face.

A turned face overlaps itself in the image, so a triangulation of the 2D points is not a valid
mesh of it; the tessellation MediaPipe defines on the 468 surface points is, in any pose.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from studio.face.mesh import LEFT_IRIS, N_SURFACE, RIGHT_IRIS

# Points on the face's vertical midline, which fix the mirror plane.
MIDLINE = np.array([1, 4, 6, 168, 10, 152, 0, 17, 13, 14])


@dataclass(frozen=True)
class Surface:
    triangles: np.ndarray   # T x 3 point indices, counter-clockwise seen from the camera when frontal
    mirror: np.ndarray      # 478: index of the point on the other side of the face (itself on the midline)

    @staticmethod
    def from_reference(reference: np.ndarray) -> "Surface":
        """Built from a frontal reference face (478x3, z away from the camera), e.g. the shape model's mean."""
        triangles = _orient(_tessellation(), reference)
        return Surface(triangles, _mirror(reference))

    def normals(self, points: np.ndarray) -> np.ndarray:
        """Unit vertex normals (N x 3, z away from the camera) of the surface points; a point that
        faces the camera has normal z < 0. Iris points take their eye's mean normal."""
        p = np.asarray(points, float)[:, :3]
        a, b, c = (p[self.triangles[:, k]] for k in range(3))
        face_normals = np.cross(b - a, c - a)     # area-weighted
        normals = np.zeros((len(p), 3))
        for k in range(3):
            np.add.at(normals, self.triangles[:, k], face_normals)
        if len(p) > N_SURFACE:
            for iris in (RIGHT_IRIS, LEFT_IRIS):
                normals[iris] = normals[iris].sum(axis=0) + face_normals.mean(axis=0)
        return normals / np.linalg.norm(normals, axis=1, keepdims=True).clip(1e-12)

    def facing(self, points: np.ndarray) -> np.ndarray:
        """How squarely each point faces the camera: 1 head-on, 0 edge-on, negative turned away."""
        return -self.normals(points)[:, 2]


def _tessellation() -> np.ndarray:
    """MediaPipe's triangles (recovered from its edge list) plus fans closing the eyes and mouth."""
    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    cliques = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    uses = Counter(e for t in cliques for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))
    # A 3-cycle whose every edge already borders two other triangles is not a face of the mesh.
    faces = [t for t in cliques if not all(uses[e] == 3 for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))]
    used = Counter(e for t in faces for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))
    loops = _loops([e for e, n in used.items() if n == 1])
    loops.sort(key=len)
    holes = loops[:-1]   # the longest boundary is the face outline; the others are the eyes and mouth
    fans = [(loop[0], loop[i], loop[i + 1]) for loop in holes for i in range(1, len(loop) - 1)]
    return np.array(sorted(faces) + fans, dtype=np.int64)


def _loops(boundary: list[tuple[int, int]]) -> list[list[int]]:
    graph: dict[int, list[int]] = {}
    for a, b in boundary:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, []).append(a)
    seen: set[int] = set()
    loops = []
    for start in sorted(graph):
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        seen.add(start)
        while True:
            following = [n for n in graph[current] if n != previous and n not in seen]
            if not following:
                break
            previous, current = current, following[0]
            loop.append(current)
            seen.add(current)
        loops.append(loop)
    return loops


def _orient(triangles: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Every triangle wound so its normal faces the camera on the frontal reference face."""
    p = np.asarray(reference, float)
    a, b, c = (p[triangles[:, k]] for k in range(3))
    flip = np.cross(b - a, c - a)[:, 2] > 0
    oriented = triangles.copy()
    oriented[flip, 1], oriented[flip, 2] = triangles[flip, 2], triangles[flip, 1]
    return oriented


def _mirror(reference: np.ndarray) -> np.ndarray:
    """The one-to-one pairing of points with their reflection across the midline (Hungarian)."""
    p = np.asarray(reference, float)[:N_SURFACE]
    reflected = p.copy()
    reflected[:, 0] = 2 * p[MIDLINE, 0].mean() - p[:, 0]
    _, pairs = linear_sum_assignment(cdist(reflected, p))
    return np.concatenate([pairs, LEFT_IRIS, RIGHT_IRIS])
