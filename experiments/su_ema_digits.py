"""(8b) Su Jianlin's second remedy on images: an exponential moving average of the
weights (decay 0.999), on the 8×8 digits. The same Adam run (NS-GAN, lr 10⁻³, β₁ = 0.5,
batch 64, 3 seeds) is scored from its raw weights and from their EMA
(`gd.Averaged(adam, decay=0.999)`: the optimizer runs unchanged on the raw weights; the
averaged ones generate the samples that are scored).

    python experiments/su_ema_digits.py
"""

import jax
import numpy as np
from common import clean, out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.metrics import ImageMetrics


def main(seeds: int = 3, steps: int = 8000, every: int = 1000):
    out = out_dir("su_ema_digits")
    data = gd.data.digits()
    metrics = ImageMetrics(data)
    game = gd.ConvGAN(losses.nsgan, data)
    adam = gd.methods.get("adam")
    table = {}
    for name, method in (("raw weights", adam), ("EMA 0.999", gd.Averaged(adam, decay=0.999))):
        run = gd.train(game, method, h=1e-3, steps=steps, seeds=seeds, log_every=every,
                       eigen_checkpoints=0, metrics=metrics, keep_samples=1, keep_checkpoints=False)
        per_step = {}
        for row in run.history:
            per_step.setdefault(row["step"], []).append(row["fd"])
        table[name] = {str(s): sorted(v) for s, v in per_step.items()}
        jax.clear_caches()
    save_json(out / "su_ema_digits.json", clean(table))
    for name, rows in table.items():
        print(name, {s: round(float(np.median(v)), 1) for s, v in rows.items()})


if __name__ == "__main__":
    main()
