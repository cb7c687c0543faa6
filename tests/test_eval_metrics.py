"""Every eval metric against hand-computed cases (nested JSON, line items, tolerance edges, empties)."""

from __future__ import annotations

import random

import pytest

from docfoundry.normalize import as_dates, as_decimal, as_digits, normalized_equal
from docfoundry.predictions import parse_prediction
from eval.metrics import (
    OutcomeCounts,
    anls,
    as_number,
    bootstrap_ci,
    document_anls,
    field_accuracy,
    field_outcome,
    field_outcomes,
    fuzzy_score,
    missing_and_hallucinated,
    normalized_exact_match,
    nova_equal,
    prf,
)
from eval.tree_edit import (
    donut_f1,
    donut_f1_counts,
    donut_normalize,
    donut_tree,
    strip_common_ends,
    ted_accuracy,
    tree_edit_distance,
)

# --- parsing raw model text ---------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ('{"a": "1"}', {"a": "1"}),
    ('Sure! Here it is:\n```json\n{"a": "x{y}"}\n```\nAnything else?', {"a": "x{y}"}),
    ('```\n{"a": 1}\n```', {"a": 1}),
    ('```json\n{"a": {"b": [1, 2]}}', {"a": {"b": [1, 2]}}),            # cut off before the closing fence
    ('{"a": 1} and then {"b": 2}', {"a": 1}),                            # the first object wins
    ('[1, 2] {"a": 1}', {"a": 1}),                                       # a list is not an object
    ('{broken {"a": 1}', {"a": 1}),                                      # the first *valid* object
    ('no json here', None),
    ('{"a": 1', None),                                                   # truncated
    # an answer cut off (or looping) inside its list is not parsed as its first item (it was: a parse
    # with the item's keys, so the parse rate counted answers every field of which scored 0)
    ('{"store": "AB", "items": [{"name": "X", "qty": "1"}, {"name": "Y", "qty', None),
    ('{"store": "A", "store": "addr": "B", {"name": "X", "qty": "1"}', None),   # broken, then an object
    ('{ broken {"a": 1}', {"a": 1}),                                     # prose braces before the answer
    # a raw newline or tab inside a value (a model writing an address's lines) is the answer, as the labeler
    # reads a teacher's; it was a parse failure in eval only
    ('{"address": "1 Main St\nSpringfield", "tel": "1\t2"}', {"address": "1 Main St\nSpringfield", "tel": "1\t2"}),
    # broken by a number past int's digit limit or by nesting past the recursion limit, after its first key: no
    # answer, as when it is cut off (it was its first item, parsed as the page's whole answer)
    ('{"items": [{"a": "1"}], "total": 1' + "9" * 5000 + "}", None),
    ('{"items": [{"a": "1"}], "x": ' + "[" * 100_000, None),
    ("", None),
])
def test_parse_prediction(text, expected):
    assert parse_prediction(text) == expected


# --- 1. fuzzy score -----------------------------------------------------------------------------


def test_fuzzy_score_by_hand():
    # ratio("world", "word") = 2 * 4 / (5 + 4) * 100 = 88.888...
    assert fuzzy_score({"a": "hello", "b": "world"}, {"a": "hello", "b": "word"}) == pytest.approx((100 + 800 / 9) / 2)
    assert fuzzy_score({"a": "ABC"}, {"a": "abc"}) == 0.0              # case-sensitive, no normalization
    assert fuzzy_score({"a": "x", "b": "y"}, None) == 0.0              # unparseable prediction is {}
    assert fuzzy_score({"a": "x"}, {"b": "x"}) == 0.0                  # a missing key scores ratio(x, "")
    assert fuzzy_score({}, {"a": "x"}) is None                         # no truth keys: no score
    nested = {"vendor": {"name": "Acme"}, "items": [{"amount": "5.00"}]}
    assert fuzzy_score(nested, {"vendor": {"name": "Acme"}, "items": [{"amount": "5.0"}]}) == pytest.approx(
        (100 + 2 * 3 / 7 * 100) / 2)                                   # "5.00" vs "5.0": LCS 3 of 4+3


# --- 2. field accuracy (Nova) -------------------------------------------------------------------


@pytest.mark.parametrize("truth, pred, ok", [
    ("100.00", "100.1", True),          # exactly 0.1% off: inside
    ("100.00", "100.11", False),        # just outside
    (1000, "1,000.9", True),
    ("0", 0.09, True),                  # truth 0: |pred| < 0.1
    ("0", "0.1", False),
    ("-5", "5", False),
    ("abc", "abc", True),
    ("abc", "ABC", False),              # not numeric: plain equality
    ("12 USD", "12", False),            # "12 USD" is not a number
    (None, None, True),
    (True, 1, False),                   # booleans are not numbers
])
def test_nova_equal(truth, pred, ok):
    assert nova_equal(truth, pred) is ok


def test_as_number():
    assert as_number("1,234.5") == 1234.5
    assert as_number("1,23") is None and as_number("12 USD") is None and as_number(float("nan")) is None


def test_field_accuracy_union_of_keys_and_line_items():
    assert field_accuracy({"a": "1", "b": "x"}, {"a": "1.0005", "c": "y"}) == (1, 3)   # a ok, b missing, c extra
    truth = {"items": [{"amt": "5"}, {"amt": "7"}], "total": "12"}
    assert field_accuracy(truth, {"items": [{"amt": "5"}], "total": "12.00"}) == (2, 3)
    assert field_accuracy(truth, None) == (0, 3)                       # parse failure: every truth key wrong
    assert field_accuracy({"a": ""}, {}) == (0, 1)                     # an empty truth key still has to be there


# --- 3. precision / recall / F1 -----------------------------------------------------------------


@pytest.mark.parametrize("truth, pred, match, outcome", [
    ("", None, False, "tn"), (None, "  ", False, "tn"),
    ("", "x", False, "false_alarm"),
    ("x", None, False, "fn"), ("x", "", False, "fn"),
    ("x", "x", True, "tp"),
    ("x", "y", False, "wrong"),
])
def test_field_outcome(truth, pred, match, outcome):
    assert field_outcome(truth, pred, match) == outcome


def test_prf_idp_and_strict_by_hand():
    c = OutcomeCounts(tp=6, fn=1, false_alarm=1, wrong=2, tn=3)
    idp = prf(c)                     # FP = 1 + 2 = 3, FN = 1
    assert idp["precision"] == pytest.approx(6 / 9)
    assert idp["recall"] == pytest.approx(6 / 7)
    assert idp["f1"] == pytest.approx(12 / 16)
    assert idp["false_alarm_rate"] == pytest.approx(1 / 4)
    assert idp["false_discovery_rate"] == pytest.approx(3 / 9)
    strict = prf(c, strict=True)     # FP = 3, FN = 1 + 2 = 3
    assert strict["recall"] == pytest.approx(6 / 9)
    assert strict["f1"] == pytest.approx(12 / 18)
    assert prf(OutcomeCounts())["f1"] is None


def test_field_outcomes_with_empty_truth_fields():
    truth = {"a": "", "b": "x", "c": "y", "d": "", "e": "1,00"}
    pred = {"a": "z", "b": " X ", "c": "", "f": "new", "e": "1.00"}
    c = field_outcomes(truth, pred, kind_of=lambda k: "amount" if k == "e" else "text")
    assert (c.tp, c.fn, c.false_alarm, c.wrong, c.tn) == (2, 1, 2, 0, 1)   # b and e match after normalizing


# --- 4. normalized exact match ------------------------------------------------------------------


@pytest.mark.parametrize("truth, pred, kind, ok", [
    ("  Hello   World ", "hello world", "text", True),
    ("Hello World", "Hello-World", "text", False),
    ("$1,234.50", "1234.5", "amount", True),
    ("1.234,50 €", "1234.50", "amount", True),
    ("(12.00)", "-12", "amount", True),
    ("12.00", "12.01", "amount", False),
    ("19 %", "19.0", "percent", True),
    ("3", "3.0", "number", True),
    ("03/12/2024", "2024-03-12", "date", True),
    ("12. März 2024", "2024-03-12", "date", True),
    ("March 12, 2024", "12/03/2024", "date", True),
    ("12 mars 2024", "2024-03-13", "date", False),
    ("20240312", "12.03.24", "date", True),
    ("not a date", "NOT A  DATE", "date", True),      # unreadable truth: folded text
    ("123-45-6789", "123 45 6789", "id", True),
    ("INV-0042", "inv 42", "id", False),               # digits 0042 vs 42
    ("", None, "amount", True),                        # empty equals missing
    ("", "0.00", "amount", False),
])
def test_normalized_equal(truth, pred, kind, ok):
    assert normalized_equal(truth, pred, kind) is ok


def test_normalizers():
    assert as_decimal("1,234") == 1234 and as_decimal("1,5") == as_decimal("1.5")
    assert as_decimal("1.234.567") == 1234567 and as_decimal("n/a") is None
    assert len(as_dates("03/04/2024")) == 2 and as_dates("31/12/2024") == as_dates("2024-12-31")
    assert as_digits("GB29 NWBK") == "29" and as_digits("ABC") == "abc"



def test_a_predicted_date_with_a_huge_number_is_no_date_not_a_crash():
    # regression: a student's "2018/…9999/01" raised OverflowError in date() and ended the whole eval
    huge = "2018/" + "9" * 25 + "/01"
    assert as_dates(huge) is None and as_dates("1" * 30 + ".01.2018") is None
    assert normalized_equal("2018-12-01", huge, "date") is False


def test_normalized_exact_match_document():
    truth = {"total": "1,000.00", "items": [{"name": "Tea"}], "date": ""}
    pred = {"total": "1000", "items": [{"name": "tea "}]}
    kinds = {"total": "amount", "items.0.name": "text", "date": "date"}
    assert normalized_exact_match(truth, pred, kinds.get) == (3, 3)
    assert normalized_exact_match(truth, None, kinds.get) == (1, 3)     # only the empty date matches


# --- 5. ANLS ------------------------------------------------------------------------------------


def test_anls():
    assert anls("Acme Corp", ["Acme Corp"]) == 1.0                      # exact match scores 1
    assert anls(" acme   CORP", ["Acme Corp"]) == 1.0                   # DocVQA lower-cases and folds spaces
    assert anls("abce", ["abcd"]) == pytest.approx(0.75)                # NL = 1/4
    assert anls("ax", ["ab"]) == 0.0                                    # NL = 0.5 is not below the threshold
    assert anls("abc", ["xyz", "abd"]) == pytest.approx(2 / 3)          # best over the answers
    assert anls(None, [""]) == 1.0 and anls("x", [""]) == 0.0
    assert document_anls({"a": "abcd", "b": "x"}, {"a": "abce"}) == (pytest.approx(0.75), 2)


# --- 6. Donut field F1 and tree-edit-distance accuracy -----------------------------------------


def test_donut_f1_by_hand():
    truth = {"menu": [{"nm": "A", "price": "1"}, {"nm": "B", "price": "2"}], "total": "3"}
    pred = {"menu": [{"nm": "A", "price": "1"}, {"nm": "C", "price": "2"}], "total": "3", "extra": "x"}
    assert donut_f1_counts(truth, pred) == (4, 2, 1)
    assert donut_f1(4, 2, 1) == pytest.approx(4 / 5.5)
    assert donut_f1(0, 0, 0) is None
    assert donut_f1_counts({"a": ["x", "x"]}, {"a": "x"}) == (1, 0, 1)  # pairs are a multiset


def test_donut_normalize_matches_reference_rules():
    assert donut_normalize({"bb": " x ", "a": "", "c": 0, "d": {"e": "1"}, "f": [1, True, " "]}) == \
        {"d": [{"e": ["1"]}], "f": ["1"], "bb": ["x"]}   # sorted by (len, key); empties, 0 and bools dropped


def test_ted_accuracy_by_hand():
    assert ted_accuracy({"a": "abc"}, {"a": "abc"}) == 1.0
    assert ted_accuracy({"a": "abc"}, {"a": "abd"}) == pytest.approx(0.75)  # lev 1 / (1 key + 3 chars)
    assert ted_accuracy({"a": "abc"}, {"b": "abc"}) == pytest.approx(0.75)  # relabel the key: 1
    assert ted_accuracy({"a": "abc"}, {}) == 0.0
    assert ted_accuracy({"a": "ab"}, {"a": "ab", "b": "xxxxxxxx"}) == 0.0   # clipped at 0
    assert ted_accuracy({}, {}) == 1.0 and ted_accuracy({}, {"a": "x"}) == 0.0
    items = {"items": [{"n": "tea", "p": "2"}, {"n": "cake", "p": "3"}]}
    # truth tree: items, 2 subtrees, 4 keys, leaves 3+1+4+1 -> 16; dropping one line item costs 1+2+4+1 = 8
    assert ted_accuracy(items, {"items": [{"n": "tea", "p": "2"}]}) == pytest.approx(1 - 8 / 16)


def _zss_distance(pred, truth):
    """The reference: zss.distance with Donut's cost functions (as in clovaai/donut)."""
    import zss
    from rapidfuzz.distance import Levenshtein

    def build(data, name="<root>"):
        node = zss.Node(name)
        if isinstance(data, dict):
            for k, v in data.items():
                node.addkid(build(v, k))
        elif all(isinstance(i, dict) for i in data):
            for i in data:
                node.addkid(build(i, "<subtree>"))
        else:
            for i in data:
                node.addkid(zss.Node(f"<leaf>{i}"))
        return node

    def update(a, b):
        la, lb = "<leaf>" in a.label, "<leaf>" in b.label
        if la and lb:
            return Levenshtein.distance(a.label[6:], b.label[6:])
        if la or lb:
            return 1 + len((a if la else b).label[6:])
        return int(a.label != b.label)

    def insert_remove(n):
        return len(n.label[6:]) if "<leaf>" in n.label else 1

    return zss.distance(build(donut_normalize(pred)), build(donut_normalize(truth)), zss.Node.get_children,
                        insert_remove, insert_remove, update)


def test_tree_edit_distance_equals_zss_with_and_without_stripping():
    rng = random.Random(7)

    def value(depth=0):
        r = rng.random()
        if depth < 2 and r < 0.2:
            return {rng.choice("abcd"): value(depth + 1) for _ in range(rng.randint(1, 3))}
        if depth < 2 and r < 0.35:
            return [value(depth + 2) if rng.random() < 0.5 else {"x": value(depth + 2)} for _ in range(rng.randint(1, 3))]
        return rng.choice(["a", "ab", "abc", "xyz", "12.5", "", "hello world"])

    for _ in range(300):
        keys = rng.sample("abcdefgh", rng.randint(1, 6))
        truth = {k: value() for k in keys}
        pred = {k: (value() if rng.random() < 0.3 else truth[k]) for k in keys if rng.random() < 0.9}
        t_norm, p_norm = donut_normalize(truth), donut_normalize(pred)
        expected = _zss_distance(pred, truth)
        assert tree_edit_distance(donut_tree(p_norm), donut_tree(t_norm)) == expected
        p_rest, t_rest = strip_common_ends(p_norm, t_norm)
        assert tree_edit_distance(donut_tree(p_rest), donut_tree(t_rest)) == expected


# --- 7. validity ---------------------------------------------------------------------------------


def test_missing_and_hallucinated():
    truth = {"a": "1", "b": "", "c": "3", "items": [{"x": "1"}]}
    pred = {"a": "1", "b": "made up", "c": " ", "d": "new", "items": [{"x": "1"}, {"x": "2"}]}
    assert missing_and_hallucinated(truth, pred) == (1, 2)   # c missing; d and items.1.x not in the truth
    assert missing_and_hallucinated(truth, None) == (3, 0)


# --- 8. bootstrap intervals ----------------------------------------------------------------------


def test_bootstrap_ci():
    constant = bootstrap_ci({"x": [0.5] * 50, "n": [1] * 50}, lambda s: s["x"] / s["n"], 200)
    assert constant == pytest.approx((0.5, 0.5))
    rng = random.Random(1)
    cols = {"ok": [float(rng.random() < 0.8) for _ in range(400)], "n": [1.0] * 400}
    lo, hi = bootstrap_ci(cols, lambda s: s["ok"] / s["n"], 500, seed=3)
    point = sum(cols["ok"]) / 400
    assert lo < point < hi and 0.05 < hi - lo < 0.12                  # ~ +-1.96 * sqrt(.8*.2/400) = +-0.039
    assert bootstrap_ci(cols, lambda s: s["ok"] / s["n"], 500, seed=3) == (lo, hi)   # seeded
    assert bootstrap_ci({"x": []}, lambda s: s["x"], 10) is None


# --- key-value pair F1 (FUNSD) ------------------------------------------------------------------

def test_pair_counts_fold_and_threshold():
    from eval.metrics import fold_pair_text, pair_counts

    assert fold_pair_text("  DATE :  ") == "date" and fold_pair_text("Fax  No.") == "fax no."
    truth = [("DATE:", "12 /10 /98"), ("TO:", "George Baroody"), ("Name", "Ann Lee")]
    pred = [("Date", "12/10/98"),            # colon, case and spaces folded: both sides >= 80
            ("To:", "George"),               # question right, answer too short (ratio 60)
            ("Remarks:", "Ann Lee")]         # answer right, question wrong
    c = pair_counts(truth, pred)
    assert (c.matched, c.predicted, c.truth, c.questions_found) == (1, 3, 3, 2)
    assert c.prf() == {"precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3}


def test_pair_counts_one_to_one_is_a_maximum_matching():
    from eval.metrics import PairCounts, pair_counts

    # the first prediction fits both truth pairs, the second only the first: a greedy pick of the
    # first truth for the first prediction would match one pair, the best assignment matches two
    truth = [("Date:", "abcdefghij"), ("Date:", "abcdefghXYZ")]
    pred = [("Date", "abcdefgh"), ("Date", "abcdefghij")]   # ratios 89 / 84, and 100 / 76
    assert pair_counts(truth, pred).matched == 2
    assert pair_counts(truth, pred[1:] * 3).matched == 1      # a pair predicted three times matches once
    assert pair_counts([], pred).prf()["recall"] is None
    total = PairCounts()
    total.merge(pair_counts(truth, pred))
    total.merge(pair_counts(truth, []))
    assert (total.matched, total.predicted, total.truth) == (2, 2, 4) and total.prf()["f1"] == 4 / 6
