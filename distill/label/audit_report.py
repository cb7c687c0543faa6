"""``label audit``'s ``audit.md``: the synthetic scores, and with real truth the side-by-side tables."""

from __future__ import annotations

from typing import Any


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}"


def _score_tables(scores: dict[str, Any]) -> list[str]:
    lines = ["| confidence | accuracy | fields |", "| --- | ---: | ---: |"]
    lines += [f"| {b} | {v['accuracy']:.3f} | {v['n']} |" for b, v in scores["per_confidence_bucket"].items()]
    lines += ["", "| --min-confidence | fields kept | accuracy of kept |", "| ---: | ---: | ---: |"]
    lines += [f"| {t['min_confidence']} | {t['kept_share']} | {t['accuracy_kept']} |" for t in scores["thresholds"]]
    return lines


def _recommendation_line(rec: dict[str, Any], where: str) -> str:
    if rec["min_confidence"] is None:
        return f"No --min-confidence to recommend: no field was scored on the {where}."
    reach = (f"the lowest that keeps {_pct(rec['target'], 0)}% accuracy" if rec["reaches_target"] else
             f"no threshold reaches {_pct(rec['target'], 0)}%; this one keeps the most accurate fields")
    return (f"Recommended `--min-confidence {rec['min_confidence']}` ({reach}, on the {where}): keeps "
            f"{_pct(rec['kept_share'])}% of the fields at {_pct(rec['accuracy_kept'])}% accuracy.")


def _case_line(case: dict[str, dict[str, Any]]) -> str:
    """Which letter case the real truth is written in and which the teacher's values were put in."""
    truth = ", ".join(f"{f} {c['truth']}" for f, c in case.items() if c["truth"]) or "mixed case (no convention)"
    schema = ", ".join(f"{f} {c['schema']}" for f, c in case.items() if c["schema"]) or "none (values as printed)"
    return (f"Case convention: the truth writes {truth}; the schema's x-case puts in it {schema}. The seed fuzzy "
            "score is case-sensitive: where they differ it counts the convention, not the reading (docfoundry.case).")


def audit_markdown(cfg: Any, scores: dict[str, Any], summary: dict[str, Any],
                    real: dict[str, Any] | None = None, gaps: dict[str, Any] | None = None) -> str:
    lines = [f"# Teacher audit: {cfg.teacher} on {cfg.n} synthetic {cfg.schema} pages ({cfg.degrade})", "",
             f"Field accuracy (normalized exact match): **{scores['field_accuracy']}** over "
             f"{scores['truth_fields']} truth fields; pages failed: {summary['failed']}; "
             f"expected calibration error: {scores['expected_calibration_error']}", "",
             "| field | accuracy | n |", "| --- | ---: | ---: |"]
    lines += [f"| {p} | {v['accuracy']:.3f} | {v['n']} |" for p, v in scores["per_field"].items()]
    lines += ["", *_score_tables(scores)]
    if real is None or gaps is None:
        return "\n".join([*lines, "", _recommendation_line(scores["recommended_min_confidence"], "synthetic pages")]) + "\n"
    mapped = ", ".join(f"{t}→{s}" for t, s in real["field_map"]["map"].items())
    lines += ["", f"## Real pages: {real['pages']} from {real['truth']} ({real['adapter']})", "",
              f"Field map (truth→schema): {mapped}"
              + (f"; not scored (no schema field): {', '.join(real['field_map']['unmapped'])}"
                 if real["field_map"]["unmapped"] else ""), "",
              f"Field accuracy (normalized exact match): **{real['field_accuracy']}** over {real['truth_fields']} "
              f"truth fields (synthetic pages, same fields: {gaps['overall']['synthetic_accuracy']}; gap "
              f"{_pct(gaps['overall']['gap'])} points); seed fuzzy score: **{real['fuzzy']}**; pages failed: "
              f"{real['label']['failed']}; expected calibration error: {real['expected_calibration_error']}", "",
              _case_line(real.get("case", {})), "",
              "### Synthetic vs real, per field", "",
              "| field | synthetic accuracy % | real accuracy % | gap (points) | real fuzzy | n real |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {p} | {_pct(g['synthetic_accuracy'])} | {_pct(g['real_accuracy'])} | {_pct(g['gap'])} | "
              f"{g['real_fuzzy']} | {g['n_real']} |" for p, g in gaps["fields"].items()]
    lines += ["", "### Real pages: accuracy per confidence bucket and per threshold", "", *_score_tables(real), "",
              _recommendation_line(real["recommended_min_confidence"], "real pages")]
    return "\n".join(lines) + "\n"
