"""``docfoundry gap``: the synthetic-to-real gap, measured (features, two-sample test, teacher audit, report)."""
