"""Named index sets of MediaPipe's 478-point face mesh (468 surface points + 10 iris points)."""

import numpy as np

N_POINTS = 478
N_SURFACE = 468

# Points that expressions barely move: nose bridge and tip, eye corners, forehead, temples.
# Alignment uses only these, so a smile or an open jaw does not tilt or shift the frame.
STABLE = np.array([6, 168, 197, 195, 5, 4, 1, 33, 133, 362, 263, 10, 109, 338, 67, 297,
                   21, 251, 54, 284, 127, 356, 234, 454, 151, 9, 8])

# Inner lip contour, in order around the mouth opening (upper lip left to right, then lower back).
INNER_LIPS = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308,
                       324, 318, 402, 317, 14, 87, 178, 88, 95])
# Positions in INNER_LIPS: the upper lip, corner to corner, and the lower lip, the same way.
INNER_UPPER = np.arange(11)
INNER_LOWER = np.array([0, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10])
# Outer lip contour, in order.
OUTER_LIPS = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
                       375, 321, 405, 314, 17, 84, 181, 91, 146])

# Face outline, in order around the face.
FACE_OVAL = np.array([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379,
                      378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127,
                      162, 21, 54, 103, 67, 109])

BROW_TOPS = np.array([70, 63, 105, 66, 107, 336, 296, 334, 293, 300])   # the brows' upper edges, across

# The regions whose movement an expression is judged by: each brow's upper and lower edge, each
# eye's lid contour, the lips.
RIGHT_BROW = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46])        # upper edge, then lower
LEFT_BROW = np.array([300, 293, 334, 296, 336, 285, 295, 282, 283, 276])
BROWS = np.concatenate([RIGHT_BROW, LEFT_BROW])
EYES = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
                 362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398])
MOUTH = np.concatenate([OUTER_LIPS, INNER_LIPS])
DRIVE_REGIONS = {"brows": BROWS, "eyes": EYES, "mouth": MOUTH}

RIGHT_EYE_CORNERS = (33, 133)   # subject's right eye (image left): outer, inner
LEFT_EYE_CORNERS = (362, 263)   # subject's left eye (image right): inner, outer
RIGHT_IRIS = np.arange(468, 473)
LEFT_IRIS = np.arange(473, 478)
MOUTH_CORNERS = (61, 291)
UPPER_LIP_MID, LOWER_LIP_MID = 13, 14


def eye_centers(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the subject's right and left eye (mean of the eye corners)."""
    right = xy[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left = xy[list(LEFT_EYE_CORNERS)].mean(axis=0)
    return right, left


def interocular(xy: np.ndarray) -> float:
    """Distance between the eye centres: the unit for landmark errors."""
    right, left = eye_centers(xy[:, :2])
    return float(np.linalg.norm(left - right))
