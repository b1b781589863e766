"""rampup.find_warmup: the critical-rate probe against theory, the pilots' choice, the fallback, the
evidence, and the finder on a lab task from the command line.

The golden case: for the loss ``L(w) = h/2 * w^2`` one SGD step gives ``w' = (1 - r h) w``, so the
loss rises exactly when ``r > 2 / h`` (the edge of stability; Kalra & Barkeshli's critical rate at
initialization for this model). The probe must find ``2 / h`` to within its bisection.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import rampup
from rampup import RampupError
from rampup.cli import main
from rampup.finder import WarmupFinding, find_warmup

SHARPNESS = 4.0  # h: the critical rate is 2 / h = 0.5


class Quadratic(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))


def quadratic_loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
    return 0.5 * SHARPNESS * model.w.pow(2).sum()  # type: ignore[operator]


def sgd(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr)


def test_critical_rate_is_two_over_the_sharpness() -> None:
    finding = find_warmup(Quadratic(), quadratic_loss, [None], sgd, 0.1, total_steps=100, bisections=8)
    evidence = finding.evidence
    assert evidence is not None
    edge = 2 / SHARPNESS
    assert evidence.critical_bounded
    assert edge * 2 ** (-1 / 2**8) <= evidence.critical_lr <= edge  # type: ignore[operator]
    assert all(probe.stable == (probe.rate <= edge) for probe in evidence.probes)
    assert evidence.start_fraction == 0  # the target 0.1 is below the edge: the warmup starts at 0


def test_a_target_above_the_edge_starts_the_warmup_below_it() -> None:
    finding = find_warmup(Quadratic(), quadratic_loss, [None], sgd, 2.0, total_steps=100, bisections=6)
    evidence = finding.evidence
    assert evidence is not None
    assert evidence.critical_lr is not None
    assert evidence.start_fraction == pytest.approx(0.5 * evidence.critical_lr / 2.0)
    assert "from=" in finding.spec or finding.warmup_steps == 0
    assert finding.exports["hf"] is None  # no Hugging Face scheduler starts a warmup above 0


def test_a_warmup_from_above_zero_also_exports_the_nearest_one_hugging_face_can_run() -> None:
    # 0.7 is above the edge 0.5: the warmup starts at half the critical rate, which no HF scheduler can
    finding = find_warmup(Quadratic(), quadratic_loss, [None], sgd, 0.7, total_steps=100, decay="constant")
    assert "from=" in finding.spec and finding.warmup_steps > 0
    assert finding.exports["hf"] is None and finding.exports["trl"] is None
    nearest = finding.exports["nearest"]
    assert nearest["spec"] == f"linear({finding.warmup_steps}) -> constant"  # from 0, peak at the same step
    assert nearest["hf"] == {
        "warmup_steps": finding.warmup_steps,
        "lr_scheduler_type": "constant_with_warmup",
        "learning_rate": 0.7,
    }
    assert nearest["trl"] == nearest["hf"]
    assert "nearest built-in warmup" in [reason.rule for reason in finding.reasons]
    text = finding.explain()
    assert "nearest for Hugging Face / TRL: linear(" in text and "constant_with_warmup" in text


def _mlp_problem(seed: int = 0) -> tuple[torch.nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    generator = torch.Generator().manual_seed(seed + 1)
    batches = []
    for _ in range(40):
        x = torch.randn(64, 8, generator=generator)
        batches.append((x, torch.sin(x[:, :1] * 2) + x[:, 1:2]))
    return model, batches


def mse(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def adam(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=lr)


def test_finding_is_a_recommendation_with_evidence_and_leaves_the_model_alone(tmp_path: Path) -> None:
    model, batches = _mlp_problem()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    torch.manual_seed(123)
    expected_random = torch.rand(3)
    torch.manual_seed(123)
    finding = find_warmup(model, mse, batches, adam, 0.01, total_steps=80, decay="cosine(to=0.1)")
    assert torch.equal(torch.rand(3), expected_random)  # the caller's random stream is untouched
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    assert isinstance(finding, WarmupFinding)
    assert isinstance(finding, rampup.advisor.Recommendation)
    evidence = finding.evidence
    assert evidence is not None and evidence.inconclusive is None
    assert evidence.screen_steps == 16  # 20% of 80
    assert [p.warmup_steps for p in evidence.pilots] == [0, 2, 3, 5, 10, 20, 28, 40]  # up to max_share 0.5
    finalists = [p for p in evidence.pilots if p.finalist]
    assert 2 <= len(finalists) <= 3 and max(p.warmup_steps for p in finalists) == 40  # the longest goes on
    assert all(len(p.scores) == 2 for p in finalists)  # two batch orders
    assert evidence.noise is not None and evidence.tolerance == pytest.approx(2 * evidence.noise)
    best = min(p.score for p in finalists if p.score is not None)
    for pilot in evidence.pilots:
        assert pilot.healthy == (
            pilot.finalist and pilot.score is not None and pilot.score <= best + evidence.tolerance
        )
    assert finding.warmup_steps == max(p.warmup_steps for p in evidence.pilots if p.healthy)  # the longest equal
    # the cost: every update of the probes and the pilots, within the budget of 4 runs
    screen = len(evidence.pilots) * 16
    finals = sum(2 * (p.stop_step - 16) for p in finalists)  # type: ignore[operator]
    assert evidence.updates == len(evidence.probes) + screen + finals
    assert evidence.cost_runs == pytest.approx(evidence.updates / 80) and evidence.cost_runs <= 4
    assert f"= {evidence.cost_runs:.2f} runs of 80 steps" in finding.explain()
    assert finding.schedule(finding.warmup_steps) == pytest.approx(1.0)
    assert str(finding.schedule).endswith(", to=0.1)") and "cosine(" in str(finding.schedule)
    rules = [reason.rule for reason in finding.reasons]
    assert rules == ["critical-rate probe", "warmup range test"]
    assert all(reason.source for reason in finding.reasons)
    data = json.loads(finding.to_json())
    assert data["evidence"]["pilots"][0]["warmup_steps"] == 0
    first = evidence.pilots[0]
    assert len(data["evidence"]["pilots"][0]["train_losses"]) == (first.stop_step if first.finalist else 16)
    assert data["warmup_steps"] == finding.warmup_steps
    assert data["evidence"]["cost_runs"] == evidence.cost_runs
    _fig, (left, right) = finding.plot(str(tmp_path / "finding.png"))
    assert (tmp_path / "finding.png").stat().st_size > 10_000
    assert left.get_xscale() == "log"
    assert len(right.get_lines()) >= len(evidence.pilots)


def test_a_tight_budget_shortens_the_final() -> None:
    model, batches = _mlp_problem()
    finding = find_warmup(model, mse, batches, adam, 0.01, total_steps=80, budget=2.5)
    assert finding.evidence is not None
    assert finding.evidence.updates <= 2.5 * 80


def test_make_optimizer_gets_the_model_so_frozen_weights_and_named_groups_work() -> None:
    model, batches = _mlp_problem()
    model[0].weight.requires_grad_(False)  # a frozen layer, as under an adapter
    frozen = model[0].weight.clone()
    seen: list[torch.nn.Module] = []

    def grouped(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        seen.append(module)
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        return torch.optim.AdamW(
            [
                {"params": [p for name, p in named if not name.endswith("bias")]},
                {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0},
            ],
            lr=lr,
        )

    finding = find_warmup(model, mse, batches, grouped, 0.01, total_steps=40)
    assert seen and all(module is model for module in seen)
    assert torch.equal(model[0].weight, frozen) and not model[0].weight.requires_grad
    assert finding.evidence is not None and finding.evidence.inconclusive is None


@pytest.mark.parametrize("builder", [lambda params, lr: torch.optim.SGD(params, lr=lr), lambda model, lr: "adam"])
def test_a_make_optimizer_that_does_not_return_an_optimizer_is_a_clear_error(builder: Any) -> None:
    model, batches = _mlp_problem()
    with pytest.raises(RampupError) as error:
        find_warmup(model, mse, batches, builder, 0.01, total_steps=40)
    assert error.value.field == "make_optimizer"
    assert "model.parameters()" in str(error.value)


def test_a_bad_fallback_fails_before_any_training_and_base_lr_is_not_mixed_with_peak_lr() -> None:
    model, batches = _mlp_problem()
    calls: list[float] = []

    def counting(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        calls.append(lr)
        return torch.optim.SGD(module.parameters(), lr=lr)

    with pytest.raises(RampupError) as error:
        find_warmup(model, mse, batches, counting, 0.01, total_steps=40, fallback={"regime": "pretrain", "beta2": 2})
    assert not calls and error.value.field == "beta2"
    scaled = {"regime": "pretrain", "optimizer": "sgd", "batch_size": 1024, "base_batch_size": 256, "base_lr": 0.1}
    finding = find_warmup(model, mse, batches, counting, 1e4, total_steps=200, fallback=scaled)
    assert finding.evidence is not None and finding.evidence.inconclusive  # every pilot blew up: the advisor answers
    assert finding.spec == rampup.recommend(total_steps=200, decay="cosine", **scaled).spec


def test_pilots_use_the_same_batches_so_the_same_warmup_gives_the_same_score() -> None:
    model, batches = _mlp_problem()
    first = find_warmup(model, mse, batches, adam, 0.01, total_steps=80)
    again = find_warmup(model, mse, batches, adam, 0.01, total_steps=80)
    assert first.evidence is not None and again.evidence is not None
    assert [p.score for p in first.evidence.pilots] == [p.score for p in again.evidence.pilots]


def test_inconclusive_probes_fall_back_to_the_advisor() -> None:
    model, batches = _mlp_problem()
    finding = find_warmup(
        model,
        mse,
        batches,
        sgd,
        1e4,  # every pilot blows up
        total_steps=200,
        fallback={"regime": "pretrain", "optimizer": "sgd"},
    )
    evidence = finding.evidence
    assert evidence is not None
    assert evidence.inconclusive == "every pilot diverged or ended above the initial loss"
    assert all(not pilot.healthy for pilot in evidence.pilots)
    advice = rampup.recommend(total_steps=200, regime="pretrain", optimizer="sgd", decay="cosine", peak_lr=1e4)
    assert finding.warmup_steps == advice.warmup_steps
    assert finding.spec == advice.spec
    assert "finder inconclusive" in [reason.rule for reason in finding.reasons]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_lr": 0}, "target_lr"),
        ({"target_lr": math.inf}, "target_lr"),
        ({"total_steps": 1}, "total_steps"),
        ({"shares": [0, 0.9]}, "shares"),
        ({"shares": "some"}, "shares"),
        ({"max_share": 2}, "max_share"),
        ({"noise_z": -1}, "noise_z"),
        ({"budget": 0}, "budget"),
        ({"screen_steps": 0}, "screen_steps"),
        ({"fallback": {"regime": "pretraining-ish"}}, "regime"),
        ({"bisections": -1}, "bisections"),
        ({"decay": "cosin"}, "phase 1"),
        ({"batches": []}, "batches"),
        ({"batches": 5}, "batches"),
        ({"model": "gpt"}, "model"),
        ({"make_optimizer": lambda params, lr: "adam"}, "make_optimizer"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, Any], field: str) -> None:
    model, batches = _mlp_problem()
    args: dict[str, Any] = {
        "model": model,
        "loss_fn": mse,
        "batches": batches,
        "make_optimizer": adam,
        "target_lr": 0.01,
        "total_steps": 50,
    }
    args.update(kwargs)
    with pytest.raises(RampupError) as error:
        find_warmup(**args)
    assert error.value.field.startswith(field)


# ---------------------------------------------------------------------------------------------- the lab


def test_rampup_find_on_a_lab_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "find.png"
    assert main(["find", "--task", "mlp", "--steps", "40", "--json", "--plot", str(out)]) is None
    stdout, stderr = capsys.readouterr()
    data = json.loads(stdout)
    assert data["total_steps"] == 40
    assert data["peak_lr"] == 4.0  # the task's high rate
    assert data["evidence"]["screen_steps"] == 8  # 20% of the run
    assert data["evidence"]["cost_runs"] <= 4
    assert out.stat().st_size > 10_000
    assert f"wrote {out}" in stderr
    for args, start in (
        (["--task", "resnet"], "error: --task: got 'resnet'"),
        (["--task", "mlp", "--lr", "-1"], "error: --lr"),
        (["--task", "mlp", "--plot", str(tmp_path / "no" / "f.png")], "error: output"),
    ):
        with pytest.raises(SystemExit) as caught:
            main(["find", *args])
        assert caught.value.code == 2
        stdout, stderr = capsys.readouterr()
        assert stdout == "" and stderr.startswith(start) and stderr.count("\n") == 1


def test_check_against_the_grid(tmp_path: Path) -> None:
    from rampup.lab.finding import FINDER, check_against_grid

    def check() -> Any:
        return check_against_grid(
            "mlp",
            "linear(4) -> cosine(to=0.1)",
            4.0,
            seeds=2,
            db=tmp_path / "lab.db",
            workers=1,
            progress=False,
            grid=("none", "linear(10%)"),
        )

    result = check()
    assert list(result.finals) == ["none", "linear(10%)", FINDER]
    assert result.seeds == (0, 1)
    assert result.best in ("none", "linear(10%)")
    best, mine = (sum(result.finals[label]) / 2 for label in (result.best, FINDER))
    assert result.relative_gap == pytest.approx((mine - best) / best)
    assert "| finder |" in result.table()
    assert result.verdict().startswith("mlp at lr 4:")
    assert result.summary.ran == 6
    again = check()
    assert again.summary.ran == 0 and again.finals == result.finals  # resumed from the database


def test_the_final_always_weighs_a_warmup_the_screen_saw_at_its_peak() -> None:
    from rampup.finder import _finalists

    # the longest warmup leads at the screen (it trained at lower rates so far): a short one still goes on
    screen = {0: 2.9, 4: 2.55, 7: 2.48, 13: 2.46, 25: 2.66, 50: 2.38, 70: 2.36, 100: 2.35}
    finalists = _finalists(sorted(screen), screen, 40)
    assert finalists[0] == 100  # the longest, which is also the best at the screen
    assert 13 in finalists  # the best of those whose warmup ended within the 40-step screen
    assert len(finalists) == len(set(finalists)) <= 4


def test_a_finalist_is_as_good_as_its_worse_order_and_one_unstable_one_is_not_noise() -> None:
    from rampup.finder import _noise, _worse

    assert _worse((2.44, 2.79)) == 2.79
    assert _worse((2.44, None)) is None
    # two steady finalists and one that breaks on one order: the noise is the steady ones'
    noise = _noise({13: (2.386, 2.340), 25: (2.390, 2.363), 100: (2.440, 2.787)})
    assert noise == pytest.approx(abs(2.386 - 2.340) / 2**0.5)
    assert _noise({13: (2.0,)}) is None


# ------------------------------------------------------------------------------ failures on the long side


class Sharpening(torch.nn.Module):
    """``h(t)/2 |w - b|^2`` for a noisy target ``b``: the curvature jumps from 1 to 5 after 80 training
    updates (progressive sharpening, made abrupt), so a warmup still near the peak rate 0.5 by then
    (``0.5 * 5 > 2``) breaks, while one that reached the peak early has decayed below the edge. A
    training update that moves a weight by more than 1 leaves a permanent ``scar`` in the loss (an early
    step too large does lasting damage): only the warmup-free start (0.5 x 3 = 1.5) does that."""

    def __init__(self, scar: float) -> None:
        super().__init__()
        self.scar_size = scar
        self.w = torch.nn.Parameter(torch.full((4,), 3.0))
        self.register_buffer("updates", torch.zeros(()))
        self.register_buffer("last", torch.full((4,), 3.0))
        self.register_buffer("scar", torch.zeros(()))

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        sharp = False
        if self.training:
            self.updates += 1
            if float((self.w.detach() - self.last).abs().max()) > 1.0:
                self.scar += self.scar_size
            self.last.copy_(self.w.detach())
            sharp = float(self.updates) > 80
        return 0.5 * (5.0 if sharp else 1.0) * (self.w - b).pow(2).sum() + self.scar


def _sharpening_finding(scar: float = 0.01, **kwargs: Any) -> WarmupFinding:
    generator = torch.Generator().manual_seed(0)
    batches = [0.05 * torch.randn(4, generator=generator) for _ in range(240)]
    return find_warmup(
        Sharpening(scar),
        lambda model, b: model(b),
        batches,
        sgd,
        0.5,
        total_steps=200,
        eval_batches=[torch.zeros(4)],
        decay="cosine(to=0.1)",
        **kwargs,
    )


def test_when_the_long_warmups_break_the_finder_moves_away_from_them() -> None:
    finding = _sharpening_finding()
    evidence = finding.evidence
    assert evidence is not None
    pilots = {pilot.warmup_steps: pilot for pilot in evidence.pilots}
    finalists = sorted(length for length, pilot in pilots.items() if pilot.finalist and pilot.compared_with is None)
    assert finalists == [4, 50, 100]
    # 50 and 100 are still near the peak when the curvature jumps: they break (100 diverges far)
    assert not pilots[50].healthy and not pilots[100].healthy
    assert max(pilots[50].scores) > 100 * max(pilots[4].scores)
    # their spread is instability, not noise: the noise is 4's own (a median over all three would be 2.9)
    assert evidence.noise is not None and evidence.noise < 1e-3
    # one rung below the shortest healthy finalist: no warmup, compared with 4 at the same rate area
    rung = pilots[0]
    assert rung.finalist and rung.compared_with == 4 and len(rung.compared_scores) == 2
    assert rung.stop_step is not None and rung.stop_step < pilots[4].stop_step  # type: ignore[operator]
    assert not rung.healthy  # its scar (0.01) is far above the noise
    assert finding.warmup_steps == 4  # the shortest healthy, not the longest (which would be 4 too here)
    detail = finding.reasons[1].detail
    assert "the failures lie on the long side" in detail and "one rung below" in detail
    assert evidence.updates <= 4 * 200
    alternatives = {alternative.warmup_steps: alternative.why_not for alternative in finding.alternatives}
    assert "linear(4) at the same rate area" in alternatives[0]


def test_the_rung_below_is_the_answer_when_it_is_as_good_and_fits_the_budget() -> None:
    # a scar far below the noise: no warmup screens a little worse than 4 (so 4 is the finalist), and
    # at the same rate area it is as good: one rung further from the failures, it is the answer
    finding = _sharpening_finding(scar=1e-4)
    evidence = finding.evidence
    assert evidence is not None
    pilots = {pilot.warmup_steps: pilot for pilot in evidence.pilots}
    assert pilots[0].screen_score > pilots[4].screen_score  # type: ignore[operator]
    assert pilots[0].compared_with == 4 and pilots[0].healthy
    assert finding.warmup_steps == 0
    assert "within the noise of linear(0) at the same rate area" not in str(finding.alternatives)
    # a rung that failed the screen is not tried, and nothing further down is
    scarred = _sharpening_finding(scar=100.0)  # no warmup ends its screen far above the initial loss
    assert scarred.evidence is not None
    assert all(pilot.compared_with is None for pilot in scarred.evidence.pilots)
    assert scarred.warmup_steps == 4
    # a tight budget leaves no room for the rung: the answer is the shortest healthy finalist
    tight = _sharpening_finding(scar=1e-4, budget=3.5)
    assert tight.evidence is not None and tight.evidence.updates <= 3.5 * 200
    assert all(pilot.compared_with is None for pilot in tight.evidence.pilots)
    assert tight.warmup_steps == 4


def test_the_verdict_reads_where_the_failures_lie() -> None:
    from rampup.finder import _broken, _verdict

    # lora, probe seed 1002: 70 and 100 end far above their screen scores (broke), 25 is healthy
    finals = {25: (2.341, 2.362), 70: (2.535, 2.737), 100: (2.899, 2.791)}
    screen = {25: 2.412, 70: 2.361, 100: 2.367}
    broken = _broken(finals, screen, 2.80)
    assert broken == {70, 100}
    verdict = _verdict(finals, broken, 2.80, 0.03)
    assert verdict.healthy == {25} and verdict.long_side
    # mlp, probe seed 1001: 100 is worse than the best by a little more than the noise but did not break:
    # a long warmup on a task that wants it, not a failure on the long side
    finals = {25: (1.0079, 0.9835), 70: (0.9892, 1.0556), 100: (1.0348, 1.0697)}
    screen = {25: 1.424, 70: 1.367, 100: 1.375}
    broken = _broken(finals, screen, 2.30)
    assert broken == set()
    verdict = _verdict(finals, broken, 2.30, 0.049)
    assert verdict.healthy == {25, 70} and not verdict.long_side
    # Post-LN: the short warmup collapses (a failure on the short side): the default, the longest healthy
    verdict = _verdict({20: (3.10, 3.12), 200: (2.30, 2.31)}, {20}, 4.2, 0.02)
    assert verdict.healthy == {200} and not verdict.long_side
    # failures on both sides: not the long side alone
    finals = {10: (3.0, 3.0), 50: (2.3, 2.3), 100: (4.0, 4.1)}
    verdict = _verdict(finals, {100}, 4.2, 0.02)
    assert verdict.healthy == {50} and not verdict.long_side
    # a diverged order is a break
    assert _broken({25: (2.3, None)}, {25: 2.4}, 2.8) == {25}
    # a finalist that broke is not healthy, even within the tolerance, while another did not break
    finals = {25: (2.34, 2.36), 100: (2.36, 2.37)}
    broken = _broken(finals, {25: 2.41, 100: 2.0}, 2.8)  # 100 had reached 2.0 at its screen
    assert broken == {100}
    verdict = _verdict(finals, broken, 2.8, 0.1)
    assert verdict.healthy == {25} and verdict.long_side
    # when every finalist broke, the best of them are still healthy (nothing better was measured)
    assert _verdict(finals, {25, 100}, 2.8, 0.1).healthy == {25, 100}
