"""Label-distribution analytics over the catalog's geography: tables, skew metrics, plots."""
from pipeline.analytics.stats import LEVELS, SOURCES, label_region_counts, plot_heatmap, plot_partition_sizes, stats

__all__ = ["LEVELS", "SOURCES", "label_region_counts", "plot_heatmap", "plot_partition_sizes", "stats"]
