"""Pure assembly engine of parallel test forms (平行试卷组卷).

Plain data in, plain data out: no database, web or queue imports. A 0-1 program
``x[item, form]`` with every blueprint rule hard and an objective that keeps each form
within tolerance of ABSOLUTE targets (mean difficulty, test information at the cut score):

* :func:`assemble` — sequential HiGHS (default) or all-forms-at-once CP-SAT, seeded,
  with progress callback, gaps, status, independent check and diagnosis;
* :func:`check_forms` — the independent checker;
* :func:`random_draw` — the rule-by-rule random-draw baseline (随机抽题);
* :func:`form_statistics` — mean p, points, TIF curves and overlap matrix for charts.
"""
from itembank.assembly.baseline import random_draw
from itembank.assembly.checker import check_forms
from itembank.assembly.engine import Progress, assemble
from itembank.assembly.irt import item_information
from itembank.assembly.model import (ITEM_TYPE_NAMES, ITEM_TYPES, AssembledForm, AssemblyResult, Blueprint, Breach,
                                     Cell, Diagnosis, DifficultyBand, FormTarget, Item, ItemId)
from itembank.assembly.stats import DEFAULT_THETAS, FormStatistics, form_statistics

__all__ = [
    "ITEM_TYPES", "ITEM_TYPE_NAMES", "DEFAULT_THETAS", "AssembledForm", "AssemblyResult", "Blueprint", "Breach",
    "Cell", "Diagnosis", "DifficultyBand", "FormStatistics", "FormTarget", "Item", "ItemId", "Progress",
    "assemble", "check_forms", "form_statistics", "item_information", "random_draw",
]
