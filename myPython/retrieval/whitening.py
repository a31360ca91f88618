"""Whitening of R-MAC regional features, in one place: PCA, PCA-whitening and learned whitening.

The R-MAC head applies ``y = W (s * x + b) + c`` to every L2-normalised regional feature (the Scale
layer ``pooled_rois/centered`` then the InnerProduct ``pooled_rois/pca``), then L2, sum per image, L2.
Everything here produces the (mean, std, projection) that `head_blobs` turns into those layers:

* `learn_pca`: PCA (optionally whitened, standardised, with an eigenvalue floor) of any vectors;
* `learn_whitening`: learned whitening from matched pairs (Radenovic, Tolias, Chum, "CNN image retrieval
  learns from BoW", ECCV 2016): whiten the covariance of the pair differences, then rotate onto the
  principal axes of all vectors in that space, so that copies move closer and the directions that
  separate different photos are kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.rmac.functional import l2_normalize


@dataclass
class PCA:
    """mean (D), components (k x D, unit rows), variances (k), std (D, or None when not standardised)."""

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    whiten: bool = True
    std: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    def projection(self) -> np.ndarray:
        """k x D matrix applied to the centred (and standardised) vectors."""
        if not self.whiten:
            return self.components
        return self.components / np.sqrt(np.maximum(self.variances, 1e-12))[:, None]

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64) - self.mean
        if self.std is not None:
            x = x / self.std
        return x @ self.projection().T

    def truncate(self, dim: int) -> PCA:
        return PCA(self.mean, self.components[:dim], self.variances[:dim], self.whiten, self.std)

    def save(self, path: str | os.PathLike[str]) -> Path:
        extra = {} if self.std is None else {"std": self.std}
        np.savez(path, mean=self.mean, components=self.components, variances=self.variances,
                 whiten=np.array(self.whiten), **extra)
        path = Path(path)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PCA:
        with np.load(path) as f:
            return cls(f["mean"], f["components"], f["variances"], bool(f["whiten"]),
                       f["std"] if "std" in f else None)


def learn_pca(vectors: np.ndarray, dim: int | None = None, whiten: bool = True, standardize: bool = False,
              floor: float = 0.0) -> PCA:
    """PCA of the rows of ``vectors`` (N x D) keeping ``dim`` components (default all, at most min(N-1, D)).

    ``standardize`` divides every dimension by its std first (sklearn's StandardScaler); ``floor`` raises
    small variances to ``floor`` x the largest before whitening. Component signs are fixed (largest entry
    positive) so that the result does not depend on LAPACK.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"learn_pca: need an N x D array with N >= 2, got shape {x.shape}")
    mean = x.mean(axis=0)
    x = x - mean
    std = None
    if standardize:
        std = x.std(axis=0)
        std[std == 0] = 1.0
        x = x / std
    limit = min(len(x) - 1, x.shape[1])
    dim = limit if dim is None or dim <= 0 else dim
    if dim > x.shape[1]:
        raise ValueError(f"learn_pca: cannot keep {dim} components of {x.shape[1]}-D vectors")
    _, sing, vt = np.linalg.svd(x, full_matrices=False)
    variances = sing**2 / (len(x) - 1)
    components = vt
    if dim > len(components):  # fewer samples than dimensions: pad with an orthonormal complement
        q, _ = np.linalg.qr(np.concatenate([components.T, np.eye(x.shape[1])], axis=1))
        components = q[:, :x.shape[1]].T
        variances = np.concatenate([variances, np.zeros(x.shape[1] - len(variances))])
    components, variances = components[:dim], variances[:dim]
    signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    if floor > 0 and len(variances):
        variances = np.maximum(variances, floor * variances[0])
    return PCA(mean, components, variances, whiten, std)


def head_blobs(pca: PCA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Scale scale, Scale bias, InnerProduct W, InnerProduct b) that reproduce `PCA.transform`."""
    scale = np.ones_like(pca.mean) if pca.std is None else 1.0 / pca.std
    bias = -pca.mean * scale
    proj = pca.projection()
    return (scale.astype(np.float32), bias.astype(np.float32), proj.astype(np.float32),
            np.zeros(len(proj), np.float32))


def raw_rmac(regions: Sequence[np.ndarray]) -> np.ndarray:
    """Raw R-MAC: L2 of the sum of the (L2-normalised) regional vectors of each image."""
    return l2_normalize(np.stack([r.sum(axis=0) for r in regions]))


def pca_rmac(regions: Sequence[np.ndarray], pca: PCA) -> np.ndarray:
    """R-MAC through a PCA: per-region transform, L2, sum per image, L2."""
    return l2_normalize(np.stack([l2_normalize(pca.transform(r)).sum(axis=0) for r in regions]))


def learn_whitening(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, dim: int | None = None,
                    ridge: float = 1e-3) -> PCA:
    """Learned whitening from pairs (vectors[a[i]], vectors[b[i]]) of the same origin (Radenovic et al.).

    mean m of all vectors; C = covariance of the pair differences (plus ``ridge`` x its mean eigenvalue on
    the diagonal, for stability); P1 = C^(-1/2) by Cholesky; then the eigenvectors of the covariance of
    P1 (x - m) sorted by decreasing variance, keeping ``dim``. Returned as a PCA whose projection is
    that matrix (``whiten=False``: the scaling is already in it), so `head_blobs` writes it into the head.
    """
    x = np.asarray(vectors, np.float64)
    a, b = np.asarray(a), np.asarray(b)
    if x.ndim != 2 or len(a) != len(b) or not len(a):
        raise ValueError("learn_whitening: need N x D vectors and equal, non-empty pair index arrays")
    mean = x.mean(axis=0)
    diff = x[a] - x[b]
    cov = diff.T @ diff / len(diff)
    cov += ridge * np.trace(cov) / len(cov) * np.eye(len(cov))
    p1 = np.linalg.inv(np.linalg.cholesky(cov))
    y = (x - mean) @ p1.T
    eigval, eigvec = np.linalg.eigh(y.T @ y / len(y))
    order = np.argsort(eigval)[::-1][: dim or len(eigval)]
    eigvec = eigvec[:, order]
    eigvec = eigvec * np.sign(eigvec[np.abs(eigvec).argmax(axis=0), np.arange(eigvec.shape[1])])
    projection = eigvec.T @ p1
    return PCA(mean, projection, eigval[order], whiten=False)


@dataclass(frozen=True)
class HeadSettings:
    scales: tuple[int, ...] = (384,)
    L: int = 2
    mirror: bool = False  # descriptor of image + mirror (twice the cost, mirror-invariant)
    whitening: str = "learned"  # "learned" (image pairs), "regions" (matched region pairs) or "pca" (the old head)

    def label(self) -> str:
        return (f"S={'+'.join(map(str, self.scales))} L={self.L} mirror={'yes' if self.mirror else 'no'} "
                f"{self.whitening}")
