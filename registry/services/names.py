"""Generated names for runs and logged models that were given none, MLflow-style: 'bold-owl-417'."""

import secrets

_ADJECTIVES = (
    "able", "agile", "amazing", "bold", "brave", "bright", "calm", "capable", "clever", "crisp",
    "curious", "dapper", "eager", "fearless", "gentle", "glamorous", "honest", "humble", "jolly",
    "keen", "kind", "lively", "loud", "lucky", "merciful", "mysterious", "nimble", "patient",
    "polite", "quick", "quiet", "rare", "resilient", "shy", "silent", "smiling", "sneaky",
    "steady", "sturdy", "sunny", "swift", "tasteful", "tender", "thoughtful", "vivid", "wise",
)  # fmt: skip
_NOUNS = (
    "ant", "bass", "bat", "bear", "bee", "bird", "carp", "cat", "colt", "crab", "crane", "deer",
    "doe", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "goat", "gull", "hare", "hawk",
    "hen", "horse", "jay", "koi", "lark", "lynx", "mole", "moth", "mule", "newt", "owl", "ox",
    "panda", "pig", "ram", "robin", "seal", "shark", "slug", "snail", "squid", "stag", "swan",
    "toad", "trout", "wasp", "whale", "wolf", "worm", "wren",
)  # fmt: skip


def random_name() -> str:
    """An adjective, an animal and a number, e.g. 'bold-owl-417'."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000)}"
