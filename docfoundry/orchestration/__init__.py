"""Orchestration: the run pipeline and its report, the one layer that imports every stage."""
