"""Item analysis of delivered exams (试题分析) and IRT calibration of the item bank (issue #8)."""
