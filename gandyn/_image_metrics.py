r"""Metrics for image GANs from a small classifier trained by gandyn on the data's labels.

The classifier (a three-layer convnet) is trained once per dataset and settings and
cached in the user's cache directory under a hash of both; it is retrained whenever
either changes. Its penultimate layer gives the features for a Fréchet distance and
its predictions give class coverage and class-histogram divergences. These are *not*
the Inception-based FID: numbers are comparable between gandyn runs on the same data,
not with published FIDs.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._io import atomic_write, open_regular, read_json
from ._nn import Conv
from .data._images import AbstractImageData, ImageData, StackedImages, fingerprint


class Classifier(eqx.Module):
    """`x → Conv3 → ReLU → Conv4/2 → ReLU → Conv4/2 → ReLU → Linear → ReLU (features)
    → Linear (class logits)` for images `(C, H, W)` with sides divisible by 4."""

    conv1: Conv
    conv2: Conv
    conv3: Conv
    hidden: eqx.nn.Linear
    head: eqx.nn.Linear

    def __init__(self, shape, classes: int, width: int, features: int, *, key):
        channels, height, width_px = shape
        keys = jax.random.split(key, 5)
        self.conv1 = Conv(channels, width, 3, padding=1, key=keys[0])
        self.conv2 = Conv(width, 2 * width, 4, stride=2, padding=1, key=keys[1])
        self.conv3 = Conv(2 * width, 2 * width, 4, stride=2, padding=1, key=keys[2])
        self.hidden = eqx.nn.Linear(2 * width * (height // 4) * (width_px // 4), features, key=keys[3])
        self.head = eqx.nn.Linear(features, classes, key=keys[4])

    def features(self, x):
        x = jax.nn.relu(self.conv1(x))
        x = jax.nn.relu(self.conv2(x))
        x = jax.nn.relu(self.conv3(x))
        return jax.nn.relu(self.hidden(x.ravel()))

    def __call__(self, x):
        return self.head(self.features(x))


@dataclasses.dataclass(frozen=True)
class ClassifierSettings:
    """How the classifier is trained: Adam at `learning_rate` for `steps` minibatches
    of `batch`, on all but a held-out `holdout` share of the data (its accuracy is
    reported), from `seed`. Part of the cache key, with `version`."""

    width: int = 16
    features: int = 128
    steps: int = 1000
    batch: int = 128
    learning_rate: float = 1e-3
    holdout: float = 0.1
    seed: int = 0
    version: int = 1


def cache_dir() -> Path:
    """`$GANDYN_CACHE_DIR`, else `$XDG_CACHE_HOME/gandyn`, else `~/.cache/gandyn`."""
    if os.environ.get("GANDYN_CACHE_DIR"):
        return Path(os.environ["GANDYN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gandyn"


def _split(n: int, holdout: float, seed: int):
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * (1 - holdout)))
    return order[:cut], order[cut:]


def train_classifier(data: ImageData, settings: ClassifierSettings = ClassifierSettings()):
    """Train the classifier on `data`'s labels; returns `(classifier, held-out accuracy)`.
    The whole optimisation is one `lax.scan`."""
    if data.labels is None:
        raise ValueError(f"{data.name}: a classifier needs labels")
    images, labels = np.asarray(data.images), np.asarray(data.labels)
    fit, held = _split(len(images), settings.holdout, settings.seed)
    key = jax.random.key(settings.seed)
    init_key, batch_key = jax.random.split(key)
    model = Classifier(data.shape, data.classes, settings.width, settings.features, key=init_key)
    x_fit, y_fit = jnp.asarray(images[fit]), jnp.asarray(labels[fit])
    model = _fit(model, x_fit, y_fit, batch_key, settings.steps, settings.batch,
                 settings.learning_rate)
    if len(held):
        predicted = np.asarray(_predict(model, jnp.asarray(images[held])))
        accuracy = float(np.mean(predicted == labels[held]))
    else:
        accuracy = float("nan")
    return model, accuracy


@eqx.filter_jit
def _fit(model, x, y, key, steps: int, batch: int, learning_rate: float):
    """`steps` Adam steps on minibatches of `batch` drawn from `(x, y)` with `key`, in one
    `lax.scan`: one program per model structure, data shape and settings (the data are
    an argument, not constants compiled into it)."""
    params, static = eqx.partition(model, eqx.is_array)
    optimizer = optax.adam(learning_rate)

    def loss_fn(params, x, y):
        logits = jax.vmap(eqx.combine(params, static))(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(carry, key):
        params, opt_state = carry
        index = jax.random.randint(key, (batch,), 0, x.shape[0])
        grads = jax.grad(loss_fn)(params, x[index], y[index])
        updates, opt_state = optimizer.update(grads, opt_state)
        return (optax.apply_updates(params, updates), opt_state), None

    keys = jax.random.split(key, steps)
    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), keys)
    return eqx.combine(params, static)



@eqx.filter_jit
def _predict(model, x):
    """The classifier's label for every image of `x` (one program, not op by op)."""
    return jnp.argmax(jax.vmap(model)(x), axis=-1)


_MAX_CACHED_BYTES = 256 * 2**20  # a cached classifier is a few MiB; a larger file is not one


def cached_classifier(data: ImageData, settings: ClassifierSettings = ClassifierSettings(), *,
                      directory: Path | None = None):
    """The classifier for `data`, from the cache if one was trained on the same images,
    labels and settings, else trained now and cached (written atomically). Returns
    `(classifier, info)`; `info` has the held-out accuracy, the cache file and whether
    it was `trained` in this call."""
    directory = cache_dir() / "classifiers" if directory is None else Path(directory)
    settings_hash = hashlib.sha256(json.dumps(dataclasses.asdict(settings), sort_keys=True).encode())
    name = f"{fingerprint(data)}-{settings_hash.hexdigest()[:12]}"
    weights, meta = directory / f"{name}.eqx", directory / f"{name}.json"
    template = Classifier(data.shape, data.classes, settings.width, settings.features,
                          key=jax.random.key(0))
    if weights.exists() and meta.exists():
        try:
            # Opened without blocking and checked: a FIFO or a device in the cache is refused.
            with open_regular(weights, "cached classifier", max_bytes=_MAX_CACHED_BYTES) as f:
                model = eqx.tree_deserialise_leaves(f, template)
            info = read_json(meta, what="cached classifier", max_bytes=2**20)
            return model, {**info, "path": str(weights), "trained": False}
        except Exception:  # noqa: BLE001 - a corrupt cache entry is retrained
            pass
    model, accuracy = train_classifier(data, settings)
    info = {"accuracy": accuracy, "data": data.name, "settings": dataclasses.asdict(settings)}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(weights, lambda f: eqx.tree_serialise_leaves(f, model))
        atomic_write(meta, json.dumps(info).encode())
    except OSError:
        pass  # an unwritable cache only costs a retraining next time
    return model, {**info, "path": str(weights), "trained": True}


def frechet_distance(x, y) -> float:
    r"""`‖μ_x − μ_y‖² + Tr(Σ_x + Σ_y − 2(Σ_x Σ_y)^{1/2})` between Gaussians fitted to the
    rows of `x` and `y`; `Tr (Σ_x Σ_y)^{1/2}` is the sum of the square roots of the
    eigenvalues of the symmetric `Σ_x^{1/2} Σ_y Σ_x^{1/2}`."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    values, vectors = np.linalg.eigh(cov_x)
    root_x = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_x @ cov_y @ root_x)
    trace_root = np.sum(np.sqrt(np.clip(middle, 0, None)))
    distance = np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_root
    return float(max(distance, 0.0))


def _kl_bits(p, q, eps: float = 1e-10) -> float:
    p, q = np.asarray(p, float) + eps, np.asarray(q, float) + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log2(p / q)))


def class_metrics(predicted, classes: int, data_histogram, *, min_share: float = 0.1) -> dict:
    """Of predicted class labels: `classes_covered` (classes holding at least
    `min_share` of a uniform share, as for toy modes) and `class_kl`,
    `KL(p_data ‖ p_generated)` of the class histograms in bits."""
    counts = np.bincount(np.asarray(predicted), minlength=classes)
    needed = max(1.0, min_share * len(predicted) / classes)
    return {"classes_covered": int(np.sum(counts >= needed)), "classes_total": classes,
            "class_kl": _kl_bits(data_histogram, counts)}


def stacked_metrics(predicted, classes: int) -> dict:
    """Of `(n, 3)` per-channel predicted labels: `modes` (distinct triples seen),
    `modes_total` (`classes³`) and `mode_kl`, `KL(p_generated ‖ uniform)` in bits."""
    predicted = np.asarray(predicted)
    code = (predicted[:, 0] * classes + predicted[:, 1]) * classes + predicted[:, 2]
    counts = np.bincount(code, minlength=classes**3)
    return {"modes": int(np.sum(counts > 0)), "modes_total": classes**3,
            "mode_kl": _kl_bits(counts, np.ones_like(counts))}


@eqx.filter_jit
def _features_and_predictions(classifier, x, stacked: bool):
    """The classifier's features, predicted labels and confidences of a batch `x`; for
    stacked images each channel goes through the one-channel classifier, and an image's
    features are its channels' features side by side."""
    if stacked:
        x = x.reshape((-1, 1) + x.shape[2:])
    features = jax.vmap(classifier.features)(x)
    probs = jax.nn.softmax(jax.vmap(classifier.head)(features))
    predicted, confidence = jnp.argmax(probs, -1), jnp.max(probs, -1)
    if stacked:
        n = features.shape[0] // 3
        return features.reshape(n, -1), predicted.reshape(n, 3), confidence.reshape(n, 3).mean(-1)
    return features, predicted, confidence


class ImageMetrics:
    """Evaluates generated images against `data`: Fréchet distance in the classifier's
    feature space (in pixel space where the data has no labels), class coverage and
    class KL, the mean classifier confidence, and for stacked data the modes out of
    `classes³`. `reference` real images (all of a labelled set, or `reference` drawn
    stacks) are featurized once."""

    def __init__(self, data: AbstractImageData, *, reference: int = 5000, seed: int = 0,
                 settings: ClassifierSettings = ClassifierSettings()):
        self.data = data
        base = data.base if isinstance(data, StackedImages) else data
        self.stacked = isinstance(data, StackedImages)
        self.classifier, self.info = (None, {}) if base.labels is None else cached_classifier(base, settings)
        if self.stacked:
            real = np.asarray(data.sample(jax.random.key(seed), reference))
        else:
            real = np.asarray(base.images)
        if self.classifier is None:
            self.real_features = real.reshape(len(real), -1)
        else:
            self.real_features, _, _ = self._batched(real)
            self.data_histogram = np.bincount(np.asarray(base.labels), minlength=base.classes)

    def _batched(self, images, size: int = 512):
        """Features, labels and confidences of `images`, in chunks of `size` (the last
        one padded): one compiled program for any number of images."""
        images = np.asarray(images)
        parts = []
        for i in range(0, len(images), size):
            chunk = images[i : i + size]
            padded = np.concatenate([chunk, np.zeros((size - len(chunk),) + chunk.shape[1:], chunk.dtype)])
            out = _features_and_predictions(self.classifier, jnp.asarray(padded), self.stacked)
            parts.append([np.asarray(p)[: len(chunk)] for p in out])
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))

    def __call__(self, samples) -> dict:
        x = np.asarray(samples, np.float32)
        if not np.all(np.isfinite(x)):
            return {"finite": False}
        if self.classifier is None:
            return {"fd_pixels": frechet_distance(x, self.real_features)}
        features, predicted, confidence = self._batched(x)
        out = {"fd": frechet_distance(features, self.real_features),
               "confidence": float(np.mean(confidence))}
        if self.stacked:
            out.update(stacked_metrics(predicted, self.data.classes))
        else:
            out.update(class_metrics(predicted, self.data.classes, self.data_histogram))
        return out
