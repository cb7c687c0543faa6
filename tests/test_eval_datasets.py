"""Truth adapters on small fixtures of each layout, and their one-line errors."""

from __future__ import annotations

import pytest
from eval_fixtures import (
    RECEIPTS,
    cord_parquet,
    cord_saved,
    dataset_folder,
    funsd_folder,
    funsd_form,
    labels_folder,
    sroie_folder,
)

from docfoundry.adapters import funsd_fields, load_truth
from docfoundry.errors import UserError


def test_dataset_folder(tmp_path):
    truth = load_truth(dataset_folder(tmp_path / "ds"))
    assert truth.adapter == "dataset"
    assert [r.id for r in truth.records] == ["r1", "r2", "r3"]
    r1 = truth.records[0]
    assert (r1.doc_type, r1.split, r1.fields) == ("receipt", "test", RECEIPTS["r1"])
    assert r1.open_image().size == (120, 160)
    # the metadata file itself works as --truth too
    assert len(load_truth(tmp_path / "ds" / "metadata.jsonl").records) == 3


def test_labels_folder_split_limit_and_schema(tmp_path):
    folder = labels_folder(tmp_path / "funsdlike")
    truth = load_truth(folder, split="test")
    assert truth.adapter == "labels" and [r.id for r in truth.records] == ["f1", "f2"]
    assert truth.records[0].doc_type == "funsdlike"               # no doc_type in the rows: the folder name
    assert truth.records[0].fields == {"DATE:": "11/10/98", "TO:": "George"}
    assert truth.all_ids == {"f0", "f1", "f2"}
    assert [r.id for r in load_truth(folder, limit=1).records] == ["f0"]
    assert {r.doc_type for r in load_truth(folder, doc_type="form").records} == {"form"}
    with pytest.raises(UserError, match="no truth records in split 'validation' .*splits present: test, train"):
        load_truth(folder, split="validation")


def test_sroie_native_layout(tmp_path):
    truth = load_truth(sroie_folder(tmp_path / "sroie"))
    assert truth.adapter == "sroie"
    assert sorted((r.id, r.split) for r in truth.records) == [
        ("X001", "train"), ("X002", "train"), ("X101", "test"), ("X102", "test")]
    rec = next(r for r in truth.records if r.id == "X102")
    assert rec.fields == {"company": "SHOP X102 SDN BHD", "date": "25/12/2018", "address": "1 JALAN",
                          "total": "11.00"}
    assert rec.image.endswith("test/img/X102.jpg") and rec.doc_type == "sroie"
    assert len(truth.problems) == 1 and "X199.txt: not valid JSON" in truth.problems[0]   # skipped, recorded
    assert truth.hints["sroie"]("total") == ("totals", "amount")


def test_funsd_native_layout(tmp_path):
    assert funsd_fields(funsd_form()) == {"DATE:": "12/10/98", "TO:": "George Baroody"}   # answers in reading order
    truth = load_truth(funsd_folder(tmp_path / "funsd"), split="train")
    assert truth.adapter == "funsd" and [(r.id, r.split) for r in truth.records] == [("0001", "train")]
    assert truth.records[0].fields == {"DATE:": "12/10/98", "TO:": "George Baroody"}


@pytest.mark.parametrize("build", [cord_saved, cord_parquet])
def test_cord_datasets_folder(tmp_path, build):
    truth = load_truth(build(tmp_path / "cord"))
    assert truth.adapter == "cord"
    by_id = {r.id: r for r in truth.records}
    assert set(by_id) == {"train_0000", "train_0001", "test_0000"}
    assert by_id["train_0001"].fields == {"menu": {"nm": "Tea", "cnt": "2", "price": "20,000"},
                                         "sub_total": {"subtotal_price": "20,000"}}
    assert by_id["test_0000"].split == "test" and by_id["test_0000"].image == ""
    assert by_id["train_0001"].open_image().size == (120, 160)    # read from the dataset file when needed
    assert truth.hints["cord"]("menu[].price") == ("menu", "amount")
    assert truth.hints["cord"]("total.total_price") == ("total", "amount")


def test_wrong_folder_errors(tmp_path):
    funsd = funsd_folder(tmp_path / "funsd")
    with pytest.raises(UserError, match=r"funsd: not a sroie folder \(expected img/ and entities/"):
        load_truth(funsd, "sroie")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: no known truth layout here .*labels.jsonl"):
        load_truth(tmp_path / "empty")
    with pytest.raises(UserError, match="nowhere: truth folder not found"):
        load_truth(tmp_path / "nowhere")
    with pytest.raises(UserError, match="unknown truth format 'pdf'"):
        load_truth(funsd, "pdf")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "labels.jsonl").write_text('{"id": "a", "fields": {}}\n{"id": "b"}\n')
    with pytest.raises(UserError, match=r"labels.jsonl:2: a labels row needs 'id' and a 'fields' object"):
        load_truth(bad)
