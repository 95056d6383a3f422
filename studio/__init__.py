"""Face editing studio: expression, pose and lighting edits on real photos.

Layers (lower never imports higher): face -> geometry -> synthesis -> operations -> interfaces.
"""

__version__ = "0.1.0"
