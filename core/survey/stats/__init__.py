"""Survey statistics: pure functions over a DataFrame of responses (layout in :mod:`core.survey.stats.schema`).

No Streamlit and no SQL here: ``core.survey.responses`` reads files, ``survey_db`` reads the database, the CLI and the
Results page call these functions.
"""

from core.survey.stats.binary import (
    binomial_p_value,
    clip_table,
    clip_totals,
    error_rates,
    group_shares,
    holm_adjust,
    pairwise_groups,
    signal_detection,
    wilson_interval,
)
from core.survey.stats.breakdown import (
    accuracy_by,
    accuracy_by_test,
    accuracy_distribution,
    exclusions,
    failed_catch,
    participant_table,
)
from core.survey.stats.models import agreement, binomial_power, mixed_model, power_plan, votes_needed
from core.survey.stats.ratings import rating_summary, rating_tests, ratings_by
from core.survey.stats.summary import explain, jsonable, report_text, summary

__all__ = [
    "accuracy_by",
    "accuracy_by_test",
    "accuracy_distribution",
    "agreement",
    "binomial_p_value",
    "binomial_power",
    "clip_table",
    "clip_totals",
    "error_rates",
    "exclusions",
    "explain",
    "failed_catch",
    "group_shares",
    "holm_adjust",
    "jsonable",
    "mixed_model",
    "pairwise_groups",
    "participant_table",
    "power_plan",
    "rating_summary",
    "rating_tests",
    "ratings_by",
    "report_text",
    "signal_detection",
    "summary",
    "votes_needed",
    "wilson_interval",
]
