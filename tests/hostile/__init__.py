"""Hostile submissions (issue #8): the attacks in `catalogue`, graded by tests/test_hostile.py."""
