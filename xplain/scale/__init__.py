"""Explaining whole datasets: a pure per-partition core, engines that schedule it, and
Parquet output that a run can resume (see :meth:`xplain.Explainer.explain_dataset`)."""

from xplain.scale.partition import PartitionSpec, explain_partition

__all__ = ["PartitionSpec", "explain_partition"]
