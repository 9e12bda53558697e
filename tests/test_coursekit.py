"""The public kit: generated text is deterministic; visible checks never raise or write to stderr."""
import warnings

import torch

from coursekit.corpus import generate_text, real_text
from coursekit.visible import VisibleChecks


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
