"""``skillcert irt``: IRT calibration from the command line.

``skillcert irt calibrate --model 2pl RESPONSES.csv -o ITEMS.csv`` reads a CSV with a header row of
item ids and one row per candidate (0, 1, or empty = not presented), calibrates the model with
:func:`scoring.psychometrics.calibrate`, and writes ``item,a,b,c,se_a,se_b,se_c`` (empty where a
parameter is fixed by the model) to OUT or stdout. The log-likelihood goes to stderr.
"""
import csv

import click
import numpy as np

from scoring.psychometrics import MODELS, calibrate

COLUMNS = ("item", "a", "b", "c", "se_a", "se_b", "se_c")


@click.group("irt")
def irt() -> None:
    """Item response theory: calibrate item parameters from scored responses."""


def _read_text(path: str) -> str:
    """The file as text: UTF-8 (with or without BOM), else GB18030 as saved by Chinese Excel."""
    with open(path, "rb") as fh:
        raw = fh.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise click.BadParameter("is neither UTF-8 nor GB18030 text", param_hint="RESPONSES")


def read_responses(path: str) -> tuple[list[str], np.ndarray]:
    """Item ids and a (n_candidates, n_items) 0/1/NaN matrix; click.BadParameter naming row and column."""
    rows = csv.reader(_read_text(path).splitlines())
    header = next(rows, None)
    if header is None or not any(h.strip() for h in header):
        raise click.BadParameter("is empty: expected a header row of item ids", param_hint="RESPONSES")
    items = [h.strip() for h in header]
    for j, item in enumerate(items):
        if not item:
            raise click.BadParameter(f"row 1, column {j + 1}: empty item id in the header", param_hint="RESPONSES")
        if item in items[:j]:
            raise click.BadParameter(f"row 1, column {j + 1}: duplicate item id {item!r}", param_hint="RESPONSES")
    data: list[list[float]] = []
    for row_no, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row) and len(row) <= 1:
            continue                                    # blank line
        if len(row) != len(items):
            raise click.BadParameter(f"row {row_no}: {len(row)} columns, but the header has {len(items)}",
                                     param_hint="RESPONSES")
        values = []
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell == "":
                values.append(np.nan)
            elif cell in ("0", "1"):
                values.append(float(cell))
            else:
                raise click.BadParameter(f"row {row_no}, column {j + 1} ({items[j]}): expected 0, 1 or empty, "
                                         f"got {cell!r}", param_hint="RESPONSES")
        data.append(values)
    if len(data) < 2:
        raise click.BadParameter(f"has {len(data)} candidate rows; at least 2 are needed", param_hint="RESPONSES")
    x = np.array(data, dtype=np.float64)
    seen = ~np.isnan(x)
    for j, item in enumerate(items):
        if not seen[:, j].any():
            raise click.BadParameter(f"column {j + 1} ({item}): no candidate was presented this item",
                                     param_hint="RESPONSES")
        col = x[seen[:, j], j]
        if col.min() == col.max():
            raise click.BadParameter(f"column {j + 1} ({item}): every response is {int(col[0])}, so the item "
                                     f"cannot be calibrated; drop it", param_hint="RESPONSES")
    return items, x


def _fmt(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.6f}"


@irt.command("calibrate")
@click.option("--model", "model", required=True, type=click.Choice(list(MODELS), case_sensitive=False),
              help="IRT model to calibrate.")
@click.argument("responses", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Item parameter CSV (default: stdout).")
@click.option("--n-quad", default=61, show_default=True, type=click.IntRange(5, 401), help="Quadrature nodes.")
@click.option("--max-iter", default=500, show_default=True, type=click.IntRange(1), help="Maximum EM steps.")
def calibrate_command(model: str, responses: str, output, n_quad: int, max_iter: int) -> None:
    """Calibrate RESPONSES.csv (header of item ids; 0, 1, empty = not presented) and write item parameters."""
    items, x = read_responses(responses)
    try:
        cal = calibrate(x, model.lower(), n_quad=n_quad, max_iter=max_iter)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i, item in enumerate(items):
        writer.writerow([item] + [_fmt(v[i]) for v in (cal.a, cal.b, cal.c, cal.se_a, cal.se_b, cal.se_c)])
    conv = cal.convergence
    click.echo(f"log-likelihood: {conv.log_likelihood:.4f}", err=True)
    extra = f", ability SD {cal.ability_sd:.4f}" if model.lower() == "rasch" else ""
    click.echo(f"model {model.lower()}, {x.shape[0]} candidates x {x.shape[1]} items, {conv.iterations} EM steps, "
               f"{'converged' if conv.converged else 'NOT converged'} (last change {conv.max_change:.2g}){extra}",
               err=True)
