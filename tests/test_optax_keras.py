"""The optax and Keras front doors equal the engine for every curve, and work inside the real libraries."""

from __future__ import annotations

import numpy as np
import pytest

import rampup
import rampup.keras  # selects a Keras backend before Keras loads, when none is configured
import rampup.optax

# isort: split
# after rampup.keras (it picks Keras' backend); plain imports, so a missing library fails CI instead of skipping
import jax
import keras
import optax

jnp = jax.numpy

PEAK = 3e-4
TOTAL = 1000

#: every warmup curve and every decay curve at least once
EVERY_CURVE = [
    "linear(100) -> cosine(900, to=0.1)",
    "exponential(100) -> constant",
    "cosine(50) -> linear(950)",
    "polynomial(80, power=2, from=0.1) -> polynomial(power=3)",
    "constant(30, from=0.1) -> exponential(gamma=0.99)",
    "1-sqrt(40) -> 1-sqrt(900)",
    "untuned-linear(beta2=0.98) -> inverse-sqrt",
    "untuned-exponential(beta2=0.98) -> cosine(cycles=1.5)",
    "radam(beta2=0.98) -> step(every=200, gamma=0.5)",
    "linear(50) -> step(at=[300, 600], gamma=0.1)",
    "linear(20) -> cosine-restarts(cycles=3, to=0.05)",
    "linear(20) -> cosine-restarts(period=100, mult=2, decay=0.7)",
    "linear(10) -> exponential(500, to=0.01)",
    "linear(10) -> exponential(gamma=0.5, every=100, staircase=true, to=0.05)",
    "linear(1%) -> constant -> 1-sqrt(20%)",
    "cosine(exponent=2, to=0.2)",
    "linear(50, per=10) -> tanh(to=0.01)",
    "linear(40) -> cosine(900, skip=100, per=25, floor=0.2)",
    "linear(40) -> polynomial(power=2, k=2, to=0.05)",
]

STEPS = np.arange(0, TOTAL + 300)


def _close_in_float32(got: np.ndarray, want: np.ndarray) -> None:
    """``|got - want| <= 1e-6 * (|want| + peak)``: relative 1e-6, and within 1e-6 of the peak near zero.

    The absolute part is not only for exact zeros. In float32 a few curves miss a strict
    relative 1e-6 where the value is below the peak: radam's first steps (5e-6 at 0.18 of
    the peak), cosine-restarts (2e-6 at 0.1) and a cosine near a zero (up to 9e-4 where
    the value is below 3e-4 of the peak); every error stays under 1e-6 of the peak.
    """
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * PEAK)


@pytest.mark.parametrize("spec", EVERY_CURVE)
def test_optax_schedule_equals_engine_under_jit(spec: str) -> None:
    schedule = rampup.parse(spec).resolve(total_steps=TOTAL)
    lr = jax.jit(jax.vmap(rampup.optax.schedule(schedule, peak_lr=PEAK)))
    got = np.asarray(lr(jnp.asarray(STEPS)))
    assert got.dtype == np.float32
    _close_in_float32(got, PEAK * schedule.values(STEPS))


@pytest.mark.parametrize("spec", EVERY_CURVE)
def test_keras_schedule_equals_engine(spec: str) -> None:
    schedule = rampup.parse(spec).resolve(total_steps=TOTAL)
    lr = rampup.keras.RampupSchedule(schedule, peak_lr=PEAK)
    got = keras.ops.convert_to_numpy(lr(keras.ops.convert_to_tensor(STEPS, dtype="int32")))
    _close_in_float32(got, PEAK * schedule.values(STEPS))
    for step in (0, 17, 500, TOTAL, TOTAL + 250):  # one step at a time, as optimizers call it
        assert float(lr(step)) == pytest.approx(PEAK * schedule(step), rel=1e-6, abs=1e-6 * PEAK)


def test_optax_schedule_drives_a_real_optimizer() -> None:
    """optax's own count feeds the schedule: the recorded learning rates are the engine's."""
    schedule = rampup.parse("linear(10) -> cosine(to=0.1)").resolve(total_steps=40)
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=rampup.optax.schedule(schedule, peak_lr=PEAK))
    params = {"w": jnp.ones(3)}
    state = optimizer.init(params)

    @jax.jit
    def update(params: dict, state: optax.OptState) -> tuple[dict, optax.OptState, jax.Array]:
        grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, state.hyperparams["learning_rate"]

    seen = []
    for _ in range(45):
        params, state, rate = update(params, state)
        seen.append(float(rate))
    # inject_hyperparams evaluates the schedule at the count before the update: steps 0, 1, 2, ...
    _close_in_float32(np.asarray(seen), PEAK * schedule.values(np.arange(45)))


def test_optax_equals_warmup_cosine_decay_schedule() -> None:
    ours = rampup.optax.schedule("linear(50, from=0.1) -> cosine(to=0.05)", peak_lr=PEAK, total_steps=TOTAL)
    theirs = optax.warmup_cosine_decay_schedule(0.1 * PEAK, PEAK, 50, TOTAL, 0.05 * PEAK)
    counts = jnp.asarray(STEPS)
    _close_in_float32(np.asarray(jax.vmap(ours)(counts)), np.asarray(jax.vmap(theirs)(counts)))


def test_keras_equals_its_cosine_decay_with_warmup() -> None:
    """Keras 3 ``CosineDecay``: ``decay_steps`` comes after the warmup (DESIGN.md)."""
    theirs = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=900, alpha=0.1, warmup_target=PEAK, warmup_steps=100
    )
    ours = rampup.keras.RampupSchedule("linear(100) -> cosine(900, to=0.1)", peak_lr=PEAK)
    steps = STEPS[::25]  # Keras' CosineDecay takes one step at a time (it branches with ops.cond)
    got = np.asarray([float(ours(int(step))) for step in steps])
    _close_in_float32(got, np.asarray([float(theirs(int(step))) for step in steps]))


def test_keras_config_round_trip_and_serialization() -> None:
    lr = rampup.keras.RampupSchedule("linear(5%) -> cosine(to=0.1)", peak_lr=PEAK, total_steps=TOTAL)
    config = lr.get_config()
    assert config == {"schedule": "linear(50) -> cosine(950, to=0.1)", "peak_lr": PEAK, "total_steps": TOTAL}
    again = rampup.keras.RampupSchedule.from_config(config)
    assert again.schedule == lr.schedule and again.peak_lr == lr.peak_lr
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(lr))
    assert isinstance(restored, rampup.keras.RampupSchedule)
    assert float(restored(25)) == pytest.approx(PEAK * 0.5, rel=1e-6)
    optimizer = keras.optimizers.AdamW(learning_rate=lr)
    clone = keras.optimizers.AdamW.from_config(optimizer.get_config())
    rebuilt = clone._learning_rate  # the schedule (``learning_rate`` is its value at the current iteration)
    assert isinstance(rebuilt, rampup.keras.RampupSchedule)
    assert rebuilt.schedule == lr.schedule and rebuilt.peak_lr == PEAK


def test_keras_fit_uses_the_schedule_at_every_step() -> None:
    """A real compiled ``model.fit`` step moves the weights by exactly the engine's rate.

    The model is ``y = x @ w`` with ``x`` all ones and the loss ``mean(y)``, so the
    gradient of every weight is 1 and plain SGD subtracts the learning rate itself.
    (Keras' JAX trainer does not sync variables for callbacks mid-epoch, so the
    test fits one batch at a time and reads the weights in between.)
    """
    schedule = rampup.parse("linear(8) -> cosine(24, to=0.1)")
    optimizer = keras.optimizers.SGD(learning_rate=rampup.keras.RampupSchedule(schedule, peak_lr=PEAK))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    x = np.ones((8, 4), dtype="float32")
    weights = [keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0]]
    for _ in range(36):
        model.fit(x, np.zeros((8, 1), dtype="float32"), batch_size=8, epochs=1, verbose=0, shuffle=False)
        weights.append(keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0])
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 36
    steps_taken = -np.diff(np.asarray(weights, dtype=np.float64))
    # float32 weights near 1 resolve a step of ~3e-4 to about 1e-7, hence rtol 1e-3
    np.testing.assert_allclose(steps_taken, PEAK * schedule.values(np.arange(36)), rtol=1e-3, atol=1e-9)


def test_front_doors_reject_a_bad_peak() -> None:
    with pytest.raises(rampup.RampupError, match="peak_lr"):
        rampup.optax.schedule("linear(10) -> constant", peak_lr=0)
    with pytest.raises(rampup.RampupError, match="peak_lr"):
        rampup.keras.RampupSchedule("linear(10) -> constant", peak_lr=-1.0)
    with pytest.raises(rampup.RampupError, match="total_steps"):
        rampup.optax.schedule("linear(5%) -> cosine", peak_lr=1.0)
