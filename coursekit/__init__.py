"""Public helpers that every course notebook may import: generated text and visible checks.

Nothing here knows the reference solutions or the hidden checks; it is safe to give to learners.
"""
