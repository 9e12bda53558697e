"""Runs learner code: the worker side of grading (see autograder.remote for the trusted side).

Everything here may be seen and run inside the sandbox; nothing here may hold a reference solution,
an expected value or a verdict.
"""
