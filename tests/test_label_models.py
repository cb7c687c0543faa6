"""Model teachers on a tiny random-weight Idefics3 (head size 64, the vLLM CPU attention needs it):
a real vLLM engine (`vllm:`), a real `vllm serve` on loopback (`openai:`), and transformers (`hf:`).

A random model writes nonsense, but JSON-schema decoding makes every answer valid JSON of the
schema; string values are capped (--max-field-chars) so a random answer ends within the budget.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("vllm")

from distill.label import LabelConfig, run  # noqa: E402
from docfoundry.doctypes import load_doc_type  # noqa: E402
from docfoundry.store import read_samples  # noqa: E402

N = 3
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}
DECODING = dict(max_field_chars=6, max_tokens=600, grounding=False, progress=False)
KEY_ENV = "DOCFOUNDRY_TEST_API_KEY"
KEY = "sk-test-not-a-real-key-4821"


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model("idefics3", "micro")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    out = tmp_path_factory.mktemp("pages") / "receipts"
    synth(SynthConfig(out=str(out), doc_types=["receipt"], n=N, seed=5))
    return out


@pytest.fixture(scope="module")
def server(model):
    """`vllm serve` of the tiny model on 127.0.0.1, started now (it boots while other tests run)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # vllm-cpu 0.32.0's `vllm` console script looks up the "vllm" distribution and fails; the module works
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--served-model-name", "tiny", "--enforce-eager",
           "--limit-mm-per-prompt", '{"image": 1}',
           "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}']
    log = open(Path(model).parent / f"vllm-serve-{port}.log", "w")  # noqa: SIM115
    env = {**os.environ, **CPU_ENV, "VLLM_API_KEY": KEY}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    yield proc, f"http://127.0.0.1:{port}/v1", log.name
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def wait_ready(server, timeout=420.0):
    proc, url, log = server
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"vllm serve exited: {Path(log).read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                if r.status == 200:
                    return url
        except OSError:
            time.sleep(1)
    raise AssertionError(f"vllm serve not ready after {timeout} s: {Path(log).read_text()[-2000:]}")


@pytest.fixture(scope="module")
def engine(model, server):
    """One offline vLLM engine for the module (starting one is the expensive part)."""
    from distill.teachers import TeacherOptions
    from distill.teachers.vllm import VllmTeacher

    teacher = VllmTeacher(str(model), TeacherOptions(enforce_eager=True))
    yield teacher
    teacher.close()


def assert_valid_rows(out: Path, n: int, method: str) -> list:
    doc = load_doc_type("receipt")
    samples = list(read_samples(out))
    assert len(samples) == n
    for s in samples:
        doc.validate(s.gt_parse)
        assert all(len(f["value"]) <= 6 for f in s.meta["fields"].values())
        assert json.loads(s.meta["raw"][0], strict=False) == s.gt_parse
        assert s.meta["confidence_method"] == method
        assert all(0 <= f["confidence"] <= 1 for f in s.meta["fields"].values())
    return samples


def test_vllm_teacher_labels_every_page_with_valid_json_and_the_cache_answers_a_rerun(engine, model, pages, tmp_path):
    spec = f"vllm:{model}"
    first = run(LabelConfig(source=str(pages), schema="receipt", teacher=spec, out=str(tmp_path / "a"), **DECODING),
                engine)
    assert first["failed"] == 0 and first["retries"] == 0, first
    assert first["teacher_calls"] == N
    assert_valid_rows(tmp_path / "a", N, "logprobs")
    again = run(LabelConfig(source=str(pages), schema="receipt", teacher=spec, out=str(tmp_path / "b"),
                            cache=str(tmp_path / "a" / "cache"), **DECODING), engine)
    assert again["teacher_calls"] == 0 and again["pages"] == N
    assert (tmp_path / "a" / "metadata.jsonl").read_bytes() == (tmp_path / "b" / "metadata.jsonl").read_bytes()


def test_vllm_samples_vote_per_field(engine, model, pages, tmp_path):
    s = run(LabelConfig(source=str(pages), schema="receipt", teacher=f"vllm:{model}", out=str(tmp_path / "k"),
                        samples=3, temperature=1.0, **DECODING), engine)
    assert s["failed"] == 0 and s["teacher_calls"] == 3 * N
    for x in read_samples(tmp_path / "k"):
        assert x.meta["confidence_method"] == "vote" and len(x.meta["raw"]) == 3
        assert len(set(x.meta["raw"])) > 1, "per-request seeds give different samples"
        shares = {f["confidence"] for f in x.meta["fields"].values()}
        assert shares <= {0.0, round(1 / 3, 4), round(2 / 3, 4), 1.0}


def test_openai_teacher_against_vllm_serve(server, model, pages, tmp_path, monkeypatch):
    url = wait_ready(server)
    monkeypatch.setenv(KEY_ENV, KEY)
    spec = f"openai:{url}#tiny"
    common = dict(source=str(pages), schema="receipt", teacher=spec, api_key_env=KEY_ENV, concurrency=2, **DECODING)
    first = run(LabelConfig(out=str(tmp_path / "a"), **common))
    assert first["failed"] == 0 and first["teacher_calls"] == N, first
    assert_valid_rows(tmp_path / "a", N, "logprobs")
    again = run(LabelConfig(out=str(tmp_path / "b"), cache=str(tmp_path / "a" / "cache"), **common))
    assert again["teacher_calls"] == 0
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    monkeypatch.delenv(KEY_ENV)  # without the key the server refuses: the page fails, the run goes on
    denied = run(LabelConfig(out=str(tmp_path / "c"), limit=1, **common))
    assert denied["failed"] == 1 and denied["teacher_errors"] == 2
    reason = json.loads((tmp_path / "c" / "failed.jsonl").read_text())["reason"]
    assert "HTTP 401" in reason and KEY not in reason


def test_hf_teacher_constrained_and_free(model, pages, tmp_path):
    spec = f"hf:{model}"
    ok = run(LabelConfig(source=str(pages), schema="receipt", teacher=spec, out=str(tmp_path / "a"), limit=1,
                         **DECODING))
    assert ok["failed"] == 0
    assert_valid_rows(tmp_path / "a", 1, "logprobs")
    # unconstrained, a random model writes no JSON: each page is asked twice, then recorded as failed
    free = run(LabelConfig(source=str(pages), schema="receipt", teacher=spec, out=str(tmp_path / "b"), limit=2,
                           structured=False, max_tokens=12, grounding=False, progress=False))
    assert free["failed"] == 2 and free["pages"] == 0 and free["retries"] == 2 and free["teacher_calls"] == 4
    reasons = [json.loads(line)["reason"] for line in (tmp_path / "b" / "failed.jsonl").read_text().splitlines()]
    assert all(r.startswith("teacher answer rejected twice") for r in reasons)
    again = run(LabelConfig(source=str(pages), schema="receipt", teacher=spec, out=str(tmp_path / "b"), limit=2,
                            structured=False, max_tokens=12, grounding=False, progress=False))
    assert again["teacher_calls"] == 0 and again["failed"] == 2  # rejected answers are cached too
