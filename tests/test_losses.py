import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gandyn import losses


def softplus(x):
    return np.logaddexp(0.0, x)


# Samples for the losses that also see them (GAN-QP): pairs at distances 1…7.
REAL = np.zeros((7, 2))
FAKE = np.stack([np.arange(1.0, 8.0), np.zeros(7)], axis=1)


def call(loss, which, r, f):
    extra = {"real": jnp.asarray(REAL[: len(r)]), "fake": jnp.asarray(FAKE[: len(f)])} if loss.uses_samples else {}
    return getattr(loss, which)(r, f, **extra)


# Independent NumPy transcriptions of each loss from its paper: (L_D, L_G). SGAN and
# NS-GAN: Goodfellow et al. 2014 (arXiv 1406.2661); RSGAN, RaSGAN, RaLSGAN:
# Jolicoeur-Martineau 2018 (arXiv 1807.00734); WGAN: Arjovsky et al. 2017 (arXiv
# 1701.07875); LSGAN with 0/1 targets: Mao et al. 2017 (arXiv 1611.04076); hinge: Lim &
# Ye 2017 (arXiv 1705.02894); GAN-QP: Su 2018 (arXiv 1811.07296), λ = 1.
def reference(name, r, f):
    mr, mf = r.mean(), f.mean()
    distance = np.linalg.norm(REAL[: len(r)] - FAKE[: len(f)], axis=1)
    return {
        "ganqp": ((f - r).mean() + ((r - f) ** 2 / (2 * distance)).mean(), (r - f).mean()),
        "sgan": (softplus(-r).mean() + softplus(f).mean(),
                 -(softplus(-r).mean() + softplus(f).mean())),
        "nsgan": (softplus(-r).mean() + softplus(f).mean(), softplus(-f).mean()),
        "rsgan": (softplus(-(r - f)).mean(), softplus(-(f - r)).mean()),
        "rasgan": (softplus(-(r - mf)).mean() + softplus(f - mr).mean(),
                   softplus(-(f - mr)).mean() + softplus(r - mf).mean()),
        "ralsgan": (((r - mf - 1) ** 2).mean() + ((f - mr + 1) ** 2).mean(),
                    ((f - mr - 1) ** 2).mean() + ((r - mf + 1) ** 2).mean()),
        "wgan": (mf - mr, -mf),
        "lsgan": (0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(), 0.5 * ((f - 1) ** 2).mean()),
        "hinge": (np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(), -mf),
    }[name]


def test_registry_lists_every_loss_of_the_table():
    assert set(losses.names()) == {
        "sgan", "nsgan", "rsgan", "rasgan", "ralsgan", "wgan", "lsgan", "hinge", "ganqp"
    }
    for name in losses.names():
        assert losses.get(name).name == name
        assert losses.get(name).description


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown loss 'wasserstein'; choose from: sgan, "):
        losses.get("wasserstein")


@pytest.mark.parametrize("name", losses.names())
def test_losses_match_the_reference_table(name):
    rng = np.random.default_rng(0)
    r, f = rng.normal(size=7), rng.normal(size=7) - 0.5
    loss = losses.get(name)
    expected_d, expected_g = reference(name, r, f)
    rel = 1e-7 if loss.uses_samples else 1e-12  # GAN-QP adds 1e-8 to each distance
    assert float(call(loss, "discriminator", jnp.asarray(r), jnp.asarray(f))) == pytest.approx(expected_d, rel=rel)
    assert float(call(loss, "generator", jnp.asarray(r), jnp.asarray(f))) == pytest.approx(expected_g, rel=rel)


def test_sanity_numbers_at_zero_logits():
    zero = jnp.zeros(4)
    assert float(losses.sgan.discriminator(zero, zero)) == pytest.approx(2 * np.log(2))
    assert float(losses.nsgan.generator(zero, zero)) == pytest.approx(np.log(2))
    assert float(losses.sgan.generator(zero, zero)) == pytest.approx(-2 * np.log(2))


@pytest.mark.parametrize("name", losses.names())
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_losses_and_gradients_are_finite_for_huge_logits(name, scale):
    loss = losses.get(name)
    r = jnp.array([scale, -scale, 0.5 * scale])
    f = jnp.array([-scale, scale, 0.25 * scale])
    for which in ("discriminator", "generator"):
        value, grads = jax.value_and_grad(lambda r, f: call(loss, which, r, f), argnums=(0, 1))(r, f)
        assert np.isfinite(value)
        assert all(np.all(np.isfinite(g)) for g in grads)


def test_sigmoid_losses_are_exact_at_large_logits():
    # A confidently rejected fake costs the discriminator nothing and the
    # non-saturating generator exactly its logit's magnitude.
    r, f = jnp.array([1e4]), jnp.array([-1e4])
    assert float(losses.sgan.discriminator(r, f)) == 0.0
    assert float(losses.nsgan.generator(r, f)) == pytest.approx(1e4)


logits = st.lists(st.floats(-30, 30), min_size=1, max_size=6)


@settings(deadline=None, max_examples=60)
@given(r=logits, f=logits, shift=st.floats(-50, 50))
@pytest.mark.parametrize("name", ["rsgan", "rasgan", "ralsgan", "wgan"])
def test_relativistic_losses_depend_on_logit_differences_only(name, r, f, shift):
    n = min(len(r), len(f))
    r, f = jnp.asarray(r[:n]), jnp.asarray(f[:n])
    loss = losses.get(name)
    for fn in (loss.discriminator, loss.generator):
        if name == "wgan" and fn == loss.generator:
            continue  # −E f alone is not shift-invariant
        assert float(fn(r + shift, f + shift)) == pytest.approx(float(fn(r, f)), abs=1e-9, rel=1e-9)


def test_sgan_is_not_shift_invariant():
    r, f = jnp.array([0.0]), jnp.array([0.0])
    assert float(losses.sgan.discriminator(r + 3, f + 3)) != pytest.approx(
        float(losses.sgan.discriminator(r, f))
    )


def test_rasgan_fake_term_has_the_right_sign():
    # RelativisticGAN issue #2: the fake term is softplus(+(f − E r)). A discriminator that
    # scores fakes far below reals must have a small loss, not a large one.
    r, f = jnp.array([5.0, 6.0]), jnp.array([-5.0, -6.0])
    assert float(losses.rasgan.discriminator(r, f)) < 1e-4
    assert float(losses.rasgan.generator(r, f)) > 10.0
