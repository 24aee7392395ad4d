"""Deprecated: the report content moved to ``forecast.report`` (figures, tables, texts, labels).

This module only re-exports it so notebooks and code written against ``forecast.plots`` keep
working; new code imports from ``forecast.report``.
"""
from __future__ import annotations

from .report.figures import (_draw_boundaries, _outline, _source, _zoom, plot_cohort,  # noqa: F401
                             plot_flows, plot_growth_map, plot_places_vs_demand, plot_track_record,
                             plot_units_map)
from .report.labels import GROUP_SV, LEVEL_SV, SRC_ADM, SRC_POP, _area_name, fmt, pct  # noqa: F401
from .report.tables import (_numbered, table_accuracy, table_beta_sweep, table_cohorts,  # noqa: F401
                            table_flags, table_programme_mix, table_scenario_losers, table_scenario_risk,
                            table_scorecard, table_transition, table_utilisation_by_group)
from .report.texts import (text_coverage, text_flows, text_intake_backtest, text_model,  # noqa: F401
                           text_region_summary, text_sources)
