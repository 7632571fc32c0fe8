"""Targets and RAG from the configuration file: the spec's defaults, the override, bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from kpi_checks import config_refusal

from core.settings import get_settings
from kpis import KpiConfig, KpiError, load_kpi_config, rag_status, with_targets


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90.0, "green"), (95.0, "green"), (89.9, "amber"), (85.0, "amber"), (84.9, "red"), (None, None)],
)
def test_higher_is_better(value: float | None, expected: str | None) -> None:
    # target 90, tolerance 5: green from 90, amber from 85, red below
    assert rag_status(value, 90, 5, "higher") == expected


@pytest.mark.parametrize(("value", "expected"), [(0, "green"), (5, "amber"), (6, "red"), (3, "amber")])
def test_lower_is_better(value: float, expected: str) -> None:
    # target 0, tolerance 5: green at 0, amber up to 5, red above
    assert rag_status(value, 0, 5, "lower") == expected


def test_no_target_or_no_direction_is_grey() -> None:
    assert rag_status(50.0, None, 0, "higher") is None
    assert rag_status(50.0, 10, 0, None) is None


def test_packaged_defaults_are_the_spec_table() -> None:
    config = load_kpi_config()
    assert {k: (t.target, t.tolerance) for k, t in config.targets.items()} == {
        "allocation_rate": (100, 2), "average_caseload": (18, 2), "assessments_within_45wd": (90, 5),
        "icpc_within_15wd": (90, 10), "re_referral_rate": (20, 3), "rhi_offered_within_72h": (95, 10),
        "unallocated_cases": (0, 5), "assessments_overdue": (0, 5), "s47_open_over_15wd": (0, 5),
        # qa-audits.md: local targets (audits on time 95%, good or better 80%)
        "audits_on_time": (95, 5), "audits_overdue": (0, 3), "audits_good_or_better": (80, 10),
        "audits_inadequate": (0, 1), "moderation_agreement": (80, 10), "audit_actions_overdue": (0, 5),
        "domain_good_or_better": (80, 10)}
    assert config.caseload_limit == 20
    assert config.closure_days == ()


def test_the_setting_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kpidash.yaml"
    path.write_text(
        "targets:\n  allocation_rate: {target: 95, tolerance: 1}\ncaseload_limit: 18\n"
        "closure_days: [2025-12-24, '2025-12-31']\n", encoding="utf-8")
    monkeypatch.setenv("KPIDASH_CONFIG_FILE", str(path))
    get_settings.cache_clear()
    config = load_kpi_config()
    assert set(config.targets) == {"allocation_rate"} and config.targets["allocation_rate"].target == 95
    assert config.caseload_limit == 18
    assert config.closure_days == (dt.date(2025, 12, 24), dt.date(2025, 12, 31))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets:\n  allocation_rte: {target: 95}\n", '"allocation_rte" in targets is not a KPI'),
        ("targets:\n  referrals: {target: 95}\n", '"referrals" has no better direction'),
        ("closure_days: [20251224]\n", "is not a date"),
        ("closure_days: ['24/12/2025']\n", "is not a date"),
        ("caseload_limit: 0\n", "caseload_limit"),
        ("targets:\n  allocation_rate: {target: high}\n", "targets.allocation_rate.target"),
        ("colour: blue\n", "colour"),
        ("targets: [\n", "not valid YAML"),
        ("closure_days: [2025-13-01]\n", "has a date that does not exist"),
        ("- 1\n- 2\n", "must be a mapping"),
    ],
)
def test_bad_files_are_explained(tmp_path: Path, text: str, message: str) -> None:
    assert message in config_refusal(tmp_path, text)


def test_a_yaml_error_shows_the_line_and_where_in_it(tmp_path: Path) -> None:
    """The configuration is parsed with libyaml where PyYAML has it, whose errors give only line and column:
    an error is told again by Python's parser, which quotes the line and marks the place."""
    message = config_refusal(tmp_path, "targets:\n  allocation_rate: [1, 2\n  x: 3\n")
    assert "not valid YAML" in message and "allocation_rate: [1, 2" in message and "^" in message, message


def test_a_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(KpiError, match="cannot read the KPI configuration file"):
        load_kpi_config(tmp_path / "absent.yaml")


def test_with_targets_adds_what_a_reader_needs() -> None:
    config = KpiConfig.model_validate({"targets": {"allocation_rate": {"target": 100, "tolerance": 2}}})
    rows = [
        {"kpi": "allocation_rate", "level": "team", "unit": "T1", "numerator": 49, "denominator": 50, "value": 98.0},
        {"kpi": "allocation_rate", "level": "team", "unit": "T2", "numerator": 0, "denominator": 0, "value": None},
        {"kpi": "referrals", "level": "team", "unit": "T1", "numerator": 4, "denominator": None, "value": 4},
    ]
    out = with_targets(rows, config)
    assert out[0] == {**rows[0], "title": "Cases allocated", "unit_of_measure": "%", "target": 100.0,
                      "tolerance": 2.0, "rag": "amber", "national_comparator": None}
    assert out[1]["rag"] is None  # nothing to divide: grey
    assert (out[2]["target"], out[2]["rag"]) == (None, None)


def test_with_targets_judges_every_value_as_rag_status_does() -> None:
    """with_targets rounds only values near a boundary: its RAG is rag_status's for values on, near and
    far from the target and the tolerance's edge, of every unit of measure and both directions."""
    from kpis.registry import KPIS

    config = KpiConfig(targets={k.id: {"target": t, "tolerance": tol} for k, (t, tol) in zip(
        [k for k in KPIS if k.polarity is not None], [(98.0, 2.0), (5.0, 0.0), (20.0, 1.5), (0.0, 3.0)] * 10)})
    steps = [0.0, 0.04, 0.05, 0.0499999, 0.05000001, 0.1, 0.45, 0.5, 0.55, 0.95, 1.0, 1.05, 1.5, 2.0, 7.3]
    values = sorted({round(base + sign * step, 8) for base in (0.0, 1.0, 3.0, 4.5, 5.0, 18.5, 20.0, 21.5, 96.0, 98.0)
                     for step in steps for sign in (1, -1)} | {96.95, 97.95, 97.94999, 1e9, -1e9})
    rows = [{"kpi": k.id, "level": "trust", "unit": "trust", "numerator": 1, "denominator": 1, "value": v}
            for k in KPIS for v in [*values, None]]
    for row in with_targets(rows, config):
        t = config.targets.get(row["kpi"])
        kpi = next(k for k in KPIS if k.id == row["kpi"])
        expected = rag_status(row["value"], t.target, t.tolerance, kpi.polarity, kpi.unit_of_measure) if t else None
        assert row["rag"] == expected, row


def test_a_kept_judge_stays_right_past_its_memory_of_values_near_a_boundary() -> None:
    """target_extras' judges live as long as a warehouse version (the API keeps them): the values near a
    boundary they remember are bounded (forgotten past 4,096), and every answer is still rag_status's."""
    from kpis.targets import target_extras

    config = KpiConfig(targets={"allocation_rate": {"target": 90.0, "tolerance": 5.0}})
    _, judge = target_extras(config)["allocation_rate"]
    values = [89.9 + i / 100_000 for i in range(6_000)] + [84.9 + i / 100_000 for i in range(10_000)] + [89.95, 84.95]
    for value in values + values[::-1]:
        assert judge(value) == rag_status(value, 90.0, 5.0, "higher", "%")
    assert {judge(v) for v in values} == {"green", "amber", "red"}
    remembered = next(c.cell_contents for c in judge.__closure__ if isinstance(c.cell_contents, dict))
    assert 0 < len(remembered) <= 4096
    assert target_extras(config)["open_cases"][1] is None  # no target, no judge


def test_one_rounding_rule_half_up_on_the_decimal_value() -> None:
    """round() and f"{x:.0f}" would give 62 and 56.2 (half to even): every figure shown rounds half up."""
    from kpis.targets import format_figure, round_half_up, whole_percent

    assert (round_half_up(62.5), round_half_up(56.25, 1), round_half_up(81.25, 1)) == (63.0, 56.3, 81.3)
    assert (whole_percent(62.5), whole_percent(0.4), format_figure(56.25, "%")) == ("63%", "0%", "56.3%")
