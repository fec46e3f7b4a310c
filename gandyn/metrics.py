"""Metrics of generated samples: toy targets (modes, high-quality share, histogram KL/JS,
energy distance) and images (Fréchet distance in a classifier's features, classes and
stacked-digit modes covered)."""

from ._image_metrics import (
    ClassifierSettings as ClassifierSettings,
    ImageMetrics as ImageMetrics,
    cached_classifier as cached_classifier,
    class_metrics as class_metrics,
    frechet_distance as frechet_distance,
    stacked_metrics as stacked_metrics,
    train_classifier as train_classifier,
)
from ._metrics import (
    energy_distance as energy_distance,
    histogram_divergences as histogram_divergences,
    mode_coverage as mode_coverage,
    pacgan_mode_metrics as pacgan_mode_metrics,
    sample_metrics as sample_metrics,
)
from ._train import outcome as outcome, toy_metrics as toy_metrics
