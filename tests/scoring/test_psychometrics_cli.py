"""``skillcert irt calibrate`` through click's CliRunner."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from click.testing import CliRunner

import scoring.psychometrics as ps
from examserver.cli_irt import irt


def _write_csv(path, x: np.ndarray, items: list[str], encoding: str = "utf-8") -> None:
    lines = [",".join(items)]
    lines += [",".join("" if np.isnan(v) else str(int(v)) for v in row) for row in x]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(40)
    a, b = np.exp(rng.normal(0, 0.3, 10)), np.linspace(-1.5, 1.5, 10)
    x = ps.simulate_responses(rng.normal(size=1000), a, b, rng=rng, missing=0.2)
    return x, [f"Q{i + 1:02d}" for i in range(10)], a, b


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("model", ["rasch", "2pl", "3pl"])
def test_calibrate_writes_item_parameters(tmp_path, sample, model):
    x, items, a, b = sample
    src, out = tmp_path / "responses.csv", tmp_path / "items.csv"
    _write_csv(src, x, items)
    result = CliRunner().invoke(irt, ["calibrate", "--model", model, str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out.read_text(encoding="utf-8"))
    assert list(rows[0]) == ["item", "a", "b", "c", "se_a", "se_b", "se_c"]
    assert [r["item"] for r in rows] == items
    cal = ps.calibrate(x, model)
    assert [float(r["b"]) for r in rows] == pytest.approx(cal.b, abs=1e-5)
    assert [float(r["se_b"]) for r in rows] == pytest.approx(cal.se_b, abs=1e-5)
    if model == "rasch":
        assert all(r["a"] == "1.000000" and r["se_a"] == "" and r["se_c"] == "" for r in rows)
    else:
        assert [float(r["a"]) for r in rows] == pytest.approx(cal.a, abs=1e-5)
        assert all(float(r["se_a"]) > 0 for r in rows)
        assert all((r["se_c"] == "") == (model == "2pl") for r in rows)
    assert f"log-likelihood: {cal.log_likelihood:.4f}" in result.output


def test_calibrate_to_stdout_and_gb18030_header(tmp_path, sample):
    x, _, _, _ = sample
    items = [f"题{i + 1}" for i in range(10)]
    src = tmp_path / "responses.csv"
    _write_csv(src, x, items, encoding="gb18030")
    result = CliRunner().invoke(irt, ["calibrate", "--model", "2pl", str(src)])
    assert result.exit_code == 0, result.output
    assert "item,a,b,c,se_a,se_b,se_c" in result.output
    assert "\n题10," in result.output and "log-likelihood:" in result.output


@pytest.mark.parametrize("content, message", [
    ("Q1,Q2,Q3\n1,0,1\n0,2,1\n", "row 3, column 2 (Q2): expected 0, 1 or empty, got '2'"),
    ("Q1,Q2,Q3\n1,0,1\n0,1\n", "row 3: 2 columns, but the header has 3"),
    ("Q1,Q1,Q3\n1,0,1\n0,1,0\n", "row 1, column 2: duplicate item id 'Q1'"),
    ("Q1,,Q3\n1,0,1\n0,1,0\n", "row 1, column 2: empty item id"),
    ("", "is empty"),
    ("Q1,Q2\n1,0\n", "at least 2 are needed"),
    ("Q1,Q2,Q3\n1,,1\n0,,0\n", "column 2 (Q2): no candidate was presented this item"),
    ("Q1,Q2,Q3\n1,1,1\n0,1,0\n", "column 2 (Q2): every response is 1"),
])
def test_bad_file_is_a_usage_error_naming_row_and_column(tmp_path, content, message):
    src = tmp_path / "bad.csv"
    src.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(irt, ["calibrate", "--model", "2pl", str(src)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_model_is_checked(tmp_path):
    src = tmp_path / "r.csv"
    src.write_text("Q1,Q2\n1,0\n0,1\n", encoding="utf-8")
    result = CliRunner().invoke(irt, ["calibrate", "--model", "4pl", str(src)])
    assert result.exit_code == 2 and "4pl" in result.output
