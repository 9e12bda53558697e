"""The course's grader: hidden checks, run against a learner's notebook and the reference."""
