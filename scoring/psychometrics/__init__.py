"""Psychometrics (心理测量): classical item analysis, IRT calibration and linking, examiner agreement.

Pure numpy/scipy: plain arrays in, plain dataclasses out; no I/O, no clock, no printing.
Response and mark matrices are ``(n_candidates, n_items)`` with NaN where an item was not presented.
"""
from .agreement import ExaminerSeverity, Icc, IccTable, examiner_severity, intraclass_correlation, krippendorff_alpha
from .classical import (
    FLAG_DESCRIPTIONS,
    FormSummary,
    ItemAnalysis,
    ItemDistractors,
    OptionStats,
    ScoreDistribution,
    corrected_point_biserial,
    cronbach_alpha,
    discriminative_efficiency,
    distractor_analysis,
    facility,
    item_analysis,
    kr20,
    score_distribution,
    standard_error_of_measurement,
)
from .irt import (
    MODELS,
    AbilityEstimates,
    Convergence,
    IrtCalibration,
    ItemFit,
    calibrate,
    eap_abilities,
    item_probabilities,
    simulate_responses,
)
from .linking import LinkingConstants, apply_linking, mean_sigma, stocking_lord

__all__ = [
    "FLAG_DESCRIPTIONS", "MODELS",
    "AbilityEstimates", "Convergence", "ExaminerSeverity", "FormSummary", "Icc", "IccTable", "IrtCalibration",
    "ItemAnalysis", "ItemDistractors", "ItemFit", "LinkingConstants", "OptionStats", "ScoreDistribution",
    "apply_linking", "calibrate", "corrected_point_biserial", "cronbach_alpha", "discriminative_efficiency",
    "distractor_analysis", "eap_abilities", "examiner_severity", "facility", "intraclass_correlation",
    "item_analysis", "item_probabilities", "kr20", "krippendorff_alpha", "mean_sigma", "score_distribution",
    "simulate_responses", "standard_error_of_measurement", "stocking_lord",
]
