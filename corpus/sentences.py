"""Sentences to speak: many emotionally neutral ones from templates, and some emotionally worded ones.

Most of the corpus uses neutral wording so that only the voice carries the emotion; the emotionally
worded share gives a transcript branch something to learn.
"""

from __future__ import annotations

import itertools
import random

NAMES = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Frank",
    "Grace",
    "Hugo",
    "Irene",
    "James",
    "Karen",
    "Leo",
    "Maria",
    "Nathan",
    "Olivia",
    "Peter",
    "Rosa",
    "Samuel",
    "Tina",
    "Victor",
)
OBJECTS = (
    "the report",
    "the blue folder",
    "the package",
    "the tickets",
    "the keys",
    "the laptop",
    "the invoice",
    "the schedule",
    "the letter",
    "the umbrella",
    "the chairs",
    "the map",
    "the printer",
    "the spare battery",
    "the bicycle",
    "the box of cables",
    "the notebook",
    "the lamp",
    "the receipt",
    "the old radio",
)
PLACES = (
    "the kitchen",
    "the office",
    "the garage",
    "the station",
    "the library",
    "the car",
    "the hallway",
    "the second floor",
    "the front desk",
    "the storage room",
    "the garden",
    "the basement",
    "the waiting room",
    "the shop",
    "the meeting room",
)
TIMES = (
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "this morning",
    "this afternoon",
    "tomorrow",
    "next week",
    "at noon",
    "at six o'clock",
    "after lunch",
    "before dinner",
    "at half past nine",
    "later today",
)
CITIES = (
    "Boston",
    "Denver",
    "Leeds",
    "Dublin",
    "Toronto",
    "Glasgow",
    "Seattle",
    "Portland",
    "Chicago",
    "Bristol",
    "Austin",
    "Ottawa",
)
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
THINGS = ("chairs", "boxes", "windows", "pages", "folders", "cups", "lights", "tables", "forms", "bottles")
VERBS = ("bring", "check", "move", "print", "collect", "label", "return", "clean", "count", "open")
PAST_VERBS = (
    "brought",
    "checked",
    "moved",
    "printed",
    "collected",
    "labelled",
    "returned",
    "cleaned",
    "counted",
    "opened",
)

_NEUTRAL_TEMPLATES = (
    ("{name} left {obj} in {place}.", ("name", "obj", "place")),
    ("Please {verb} {obj} {time}.", ("verb", "obj", "time")),
    ("The train to {city} leaves {time}.", ("city", "time")),
    ("There are {num} {things} in {place}.", ("num", "things", "place")),
    ("{name} will {verb} {obj} {time}.", ("name", "verb", "obj", "time")),
    ("I think {obj} is in {place}.", ("obj", "place")),
    ("We {past} {obj} {time}.", ("past", "obj", "time")),
    ("{name} is driving to {city} {time}.", ("name", "city", "time")),
    ("The meeting about {obj} is {time}.", ("obj", "time")),
    ("{name} counted {num} {things} near {place}.", ("name", "num", "things", "place")),
    ("Can you tell {name} that {obj} is in {place}?", ("name", "obj", "place")),
    ("The bus from {city} arrives {time}.", ("city", "time")),
)
_SLOTS = {
    "name": NAMES,
    "obj": OBJECTS,
    "place": PLACES,
    "time": TIMES,
    "city": CITIES,
    "num": NUMBERS,
    "things": THINGS,
    "verb": VERBS,
    "past": PAST_VERBS,
}

# Emotionally worded sentences: fixed lines plus templates with emotion words.
_EMOTIONAL_LINES: dict[str, tuple[str, ...]] = {
    "angry": (
        "I told you a hundred times to stop doing that!",
        "Get out of my room right now!",
        "This is completely unacceptable!",
        "How dare you speak to me like that?",
        "You ruined everything again!",
        "I am sick and tired of your excuses!",
        "Stop lying to me!",
        "Who do you think you are?",
    ),
    "happy": (
        "This is the best day of my life!",
        "I can't wait to see you tonight!",
        "We won the game!",
        "What a wonderful surprise party!",
        "I love this song so much!",
        "Everything worked out perfectly!",
        "You made my whole week!",
        "We got the house!",
    ),
    "sad": (
        "I miss her every single day.",
        "Nobody came to the funeral.",
        "I lost my job today.",
        "He never called back.",
        "It's over, there is nothing left.",
        "I feel so alone here.",
        "The dog didn't make it.",
        "I wish things had turned out differently.",
    ),
    "calm": (
        "Take a slow breath and let it go.",
        "Everything is quiet and peaceful tonight.",
        "There is no rush, we have all evening.",
        "The lake is still and the air is warm.",
        "Just relax and listen to the rain.",
        "It's all going to be fine.",
    ),
    "fearful": (
        "Did you hear that noise downstairs?",
        "Please don't leave me here alone.",
        "Someone is following us.",
        "I think there's somebody in the house.",
        "What if they find us?",
        "The lights just went out, I can't see anything.",
    ),
    "surprised": (
        "Wait, you're getting married?",
        "No way, is that really you?",
        "You did all of this by yourself?",
        "I had no idea you were coming!",
        "Since when do you play the piano?",
        "It actually worked?",
    ),
    "disgust": (
        "That smell is absolutely revolting.",
        "There's hair in my soup.",
        "How can you eat that?",
        "The fridge is full of rotten food.",
        "That was the most vile thing I've ever seen.",
        "Ugh, the floor is sticky.",
    ),
}
_EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "angry": ("furious", "outraged", "fed up", "livid"),
    "happy": ("thrilled", "delighted", "so happy", "overjoyed"),
    "sad": ("heartbroken", "devastated", "so sad", "miserable"),
    "calm": ("at peace", "relaxed", "completely calm", "at ease"),
    "fearful": ("terrified", "scared", "frightened", "afraid"),
    "surprised": ("amazed", "stunned", "shocked", "astonished"),
    "disgust": ("disgusted", "sickened", "repulsed", "grossed out"),
}
_EMOTIONAL_TEMPLATES = (
    "I am {word} about {obj}.",
    "{name} was {word} when we found {obj}.",
    "Honestly, I'm {word} that it happened {time}.",
)


def sample_neutral_sentences(count: int, seed: int) -> list[str]:
    """Draw ``count`` distinct neutral sentences, spread over all templates."""
    rng = random.Random(f"neutral:{seed}")
    per_template = [
        [_fill(t, dict(zip(slots, values, strict=True))) for values in itertools.product(*(_SLOTS[s] for s in slots))]
        for t, slots in _NEUTRAL_TEMPLATES
    ]
    for pool in per_template:
        rng.shuffle(pool)
    chosen: list[str] = []
    for row in itertools.zip_longest(*per_template):
        chosen.extend(s for s in row if s is not None)
        if len(chosen) >= count:
            break
    return list(dict.fromkeys(chosen))[:count]


def emotional_sentences(label: str) -> list[str]:
    """Return the emotionally worded sentences for a speech label (none for neutral)."""
    if label not in _EMOTIONAL_LINES:
        return []  # neutral wording is the neutral sentence pool itself
    out = list(_EMOTIONAL_LINES[label])
    for template in _EMOTIONAL_TEMPLATES:
        for word in _EMOTION_WORDS[label]:
            for name, obj, time in zip(NAMES, OBJECTS, TIMES, strict=False):
                out.append(_fill(template, {"word": word, "name": name, "obj": obj, "time": time}))
    return list(dict.fromkeys(out))


def _fill(template: str, values: dict[str, str]) -> str:
    text = template.format(**values)
    return text[0].upper() + text[1:]
