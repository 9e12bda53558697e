"""Text for the course's experiments, made on the spot: nothing is downloaded.

`generate_text` writes short English stories from a small grammar (deterministic for a seed), with
contractions, numbers, punctuation, quotes and a little non-ASCII text, so that tokenizers meet the
same kinds of strings as in real text. `real_text` returns real English prose: the topic pages of
Python's own documentation, which ship with every Python installation (module `pydoc_data`).
"""
import random

NAMES = ["Mia", "Tom", "Lily", "Ben", "Sara", "Omar", "Zoé", "Chen", "Ana", "Leo", "Nina", "Raj",
         "Emma", "Noah", "Ava", "Kofi", "Ines", "Yuki", "Max", "Elena"]
ANIMALS = ["cat", "dog", "bird", "fox", "rabbit", "turtle", "owl", "mouse", "horse", "frog", "bear",
           "duck", "goat", "lion", "whale", "bee"]
THINGS = ["ball", "box", "kite", "book", "hat", "cake", "map", "key", "boat", "lamp", "drum",
          "apple", "flower", "stone", "letter", "bicycle", "blanket", "cookie", "shell", "bell"]
PLACES = ["park", "garden", "forest", "river", "kitchen", "school", "beach", "hill", "library",
          "market", "village", "castle", "farm", "lake", "station", "café"]
ADJECTIVES = ["big", "small", "red", "blue", "happy", "sad", "old", "new", "shiny", "quiet",
              "funny", "brave", "tiny", "soft", "green", "bright", "sleepy", "clever", "kind", "naïve"]
FEELINGS = ["happy", "sad", "scared", "excited", "tired", "proud", "surprised", "curious", "calm",
            "angry", "hungry", "lonely"]
VERBS = ["found", "lost", "saw", "liked", "painted", "carried", "opened", "dropped", "shared",
         "fixed", "hid", "washed", "threw", "built", "bought", "made"]
MOVES = ["walked", "ran", "jumped", "danced", "swam", "climbed", "rolled", "hopped", "raced"]
TIMES = ["One day", "Once upon a time", "In the morning", "After lunch", "That evening",
         "On Monday", "Later", "The next day", "At night", "Long ago"]
SAYINGS = ["I can't find my {thing}!", "Let's go to the {place}.", "It's a {adj} {thing}!",
           "Don't be {feeling}.", "We'll share the {thing}.", "I'm so {feeling} today.",
           "You're my best friend.", "Where's the {animal}?", "They've got {num} {thing}s!",
           "I'd like a {adj} {thing}, please.", "Look at the {animal} 🙂", "Wow! 🎉"]
SENTENCES = [
    "{time}, {name} {verb} a {adj} {thing} in the {place}.",
    "{name} had a {adj} {animal} named {name2}.",
    "The {animal} {move} to the {place} and {verb} a {thing}.",
    "{name} felt {feeling} because the {thing} was {adj}.",
    "{name} and {name2} {move} around the {place} {num} times.",
    "\"{saying}\" said {name}.",
    "{name} asked, \"{saying}\"",
    "There were {num} {animal}s near the {adj} {place}.",
    "{time}, the {adj} {animal} wasn't {feeling} anymore.",
    "{name} {verb} the {thing}; then {name2} {verb2} it too.",
    "It was {num}:{minute} when {name} {move} home.",
    "The {thing} cost {num} coins, but {name} didn't mind.",
    "{name}'s {animal} {move} over the {thing}!",
    "Why was the {animal} so {feeling}? Nobody knew.",
    "{name} smiled. The {place} was {adj} and {adj2}.",
]
ENDINGS = ["The end.", "And they were {feeling} forever.", "{name} never forgot that day.",
           "Everyone went to sleep.", "It was the best day of the year."]


def _fill(template: str, rng: random.Random) -> str:
    slots = {
        "name": rng.choice(NAMES), "name2": rng.choice(NAMES), "animal": rng.choice(ANIMALS),
        "thing": rng.choice(THINGS), "place": rng.choice(PLACES), "adj": rng.choice(ADJECTIVES),
        "adj2": rng.choice(ADJECTIVES), "feeling": rng.choice(FEELINGS), "verb": rng.choice(VERBS),
        "verb2": rng.choice(VERBS), "move": rng.choice(MOVES), "time": rng.choice(TIMES),
        "num": str(rng.choice([2, 3, 4, 5, 7, 10, 12, 20, 42, 100, 365])),
        "minute": f"{rng.randrange(60):02d}",
    }
    slots["saying"] = rng.choice(SAYINGS).format(**slots)
    return template.format(**slots)


def generate_story(rng: random.Random) -> str:
    """One short story: an opening, 3-8 sentences and an ending, as one paragraph."""
    sentences = [_fill(rng.choice(SENTENCES[:2]), rng)]
    sentences += [_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(3, 8))]
    sentences.append(_fill(rng.choice(ENDINGS), rng))
    return " ".join(sentences)


def generate_text(n_chars: int = 130_000, seed: int = 0) -> str:
    """Stories separated by blank lines, cut at the last story that fits in `n_chars`."""
    rng = random.Random(seed)
    stories, size = [], 0
    while True:
        story = generate_story(rng)
        if size + len(story) + 2 > n_chars:
            break
        stories.append(story)
        size += len(story) + 2
    return "\n\n".join(stories) + "\n"


def real_text(n_chars: int = 130_000) -> str:
    """The first `n_chars` characters of Python's documentation topics (real English prose)."""
    from pydoc_data.topics import topics
    return "".join(topics[key] for key in sorted(topics))[:n_chars]
