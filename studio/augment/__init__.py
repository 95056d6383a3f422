"""Datasets multiplied: each face of a folder of photos edited into labelled variants drawn from a
sampling spec, with a manifest, on worker processes or a Ray cluster, resumable."""
