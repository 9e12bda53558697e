"""The public kit: generated text and the generated crawl are deterministic; visible checks never raise or write to stderr and
stop at an interrupt or a time limit; experiments say which unfinished exercise they need."""
import warnings

import torch

from coursekit import visible
from coursekit.corpus import generate_text, real_text
from coursekit.experiments import finished
from coursekit.visible import VisibleChecks
from coursekit.webcorpus import NEAR_EDIT_RATES, web_corpus


def test_generate_text_is_deterministic_and_sized():
    assert generate_text(5_000, seed=3) == generate_text(5_000, seed=3)
    assert generate_text(5_000, seed=3) != generate_text(5_000, seed=4)
    assert 4_000 < len(generate_text(5_000)) <= 5_000


def test_generate_text_has_what_tokenizers_meet():
    text = generate_text(50_000)
    assert "'" in text and '"' in text and any(c.isdigit() for c in text)
    assert any(ord(c) > 127 for c in text) and any(ord(c) > 0xFFFF for c in text)


def test_real_text_is_python_documentation():
    assert real_text(1_000).startswith('The "assert" statement')


def test_web_corpus_is_deterministic_and_its_labels_are_consistent():
    pages = web_corpus(seed=0)
    assert pages == web_corpus(seed=0) and pages != web_corpus(seed=1)
    junk = [p["kind"] for p in pages if p["kind"] != "article"]
    assert sorted(set(junk)) == ["ads", "numbers", "spam", "stub", "teaser", "toc"] and len(junk) == 42
    assert {p["language"] for p in pages} == {"en", "de", "fr", "ru", "el", "zh"}
    copies = [p for p in pages if p["copy"]]
    assert all(pages[p["duplicate_of"]]["kind"] == "article" and pages[p["duplicate_of"]]["language"] == "en"
               and pages[p["duplicate_of"]]["copy"] is None for p in copies)
    assert {p["edit_rate"] for p in copies if p["copy"] == "near"} == set(NEAR_EDIT_RATES)
    assert all(p["html"] == pages[p["duplicate_of"]]["html"] for p in copies if p["copy"] == "identical")


def test_visible_checks_report_without_raising_or_stderr(capfd):
    def noisy():
        warnings.warn("careful")
        return 1 / 0

    checks = VisibleChecks("demo")
    checks.equal("equal lists", lambda: [1, 2], [1, 3])
    checks.close("close tensors", lambda: torch.ones(2), [1.0, 1.5], atol=1e-3)
    checks.true("raises", noisy)
    checks.report()
    out, err = capfd.readouterr()
    assert err == ""
    assert "first difference at index 1: expected 3, got 2" in out
    assert "max abs difference 0.5 > 0.001" in out
    assert "raised ZeroDivisionError" in out
    assert "✗ demo: 0/3 visible checks passed." in out


def test_visible_checks_say_not_implemented(capfd):
    def unfinished():
        raise NotImplementedError()

    checks = VisibleChecks("todo")
    checks.equal("x", unfinished, 1)
    checks.equal("y", lambda: 1, 1)
    checks.report()
    assert capfd.readouterr().out.strip() == "… todo: not implemented yet."


def test_an_interrupt_stops_the_cell_and_skips_the_rest(capfd):
    def interrupted():
        raise KeyboardInterrupt

    def never_called():
        raise AssertionError("a check after an interrupt ran")

    checks = VisibleChecks("merge")
    checks.equal("first", lambda: 1, 1)
    checks.equal("second", interrupted, 1)
    checks.equal("third", never_called, 1)
    checks.true("fourth", never_called)
    result = checks.report()
    out = capfd.readouterr().out
    assert "✗ second: interrupted (KeyboardInterrupt)" in out
    assert out.count("skipped: interrupted") == 3  # two checks and the summary
    assert "✗ merge: 1/4 visible checks passed (2 skipped: interrupted)." in out
    assert repr(result) == "0"


def test_a_check_that_runs_too_long_is_stopped_like_the_grader_does(capfd, monkeypatch):
    monkeypatch.setattr(visible, "CHECK_SECONDS", 0.2)

    def endless():
        while True:
            pass

    checks = VisibleChecks("merge")
    checks.equal("loops", endless, 1)
    checks.equal("after it", endless, 1)
    result = checks.report()
    out = capfd.readouterr().out
    assert "✗ loops: ran too long (over 0.2 s: an infinite loop?)" in out
    assert "· after it: skipped: an earlier check of `merge` ran out of time" in out
    assert repr(result) == "0"


def stub(ids):
    """A release stub."""
    # YOUR CODE HERE
    raise NotImplementedError()


def written_above_a_forgotten_raise(ids):
    return list(ids)
    raise NotImplementedError()


def uses_the_stub(ids):
    return stub(ids)


class ModuleStub:
    def __init__(self):
        super().__init__()
        raise NotImplementedError()

    @classmethod
    def build(cls):
        return written_above_a_forgotten_raise([])


def test_finished_names_what_an_experiment_needs(capsys):
    assert finished(written_above_a_forgotten_raise)
    assert capsys.readouterr().out == ""
    assert not finished(uses_the_stub, ModuleStub)
    assert capsys.readouterr().out.strip() == \
        "⏭ Skipped: finish `ModuleStub` and `stub` above, then run this cell again."
