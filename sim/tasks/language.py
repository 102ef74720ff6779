"""Instruction templates: the words a task may say, split into training and held-out paraphrases.

Each task has a set of paraphrase templates with named slots (``{colour}``, ``{part}``,
``{bin}``). Training episodes draw from `TRAIN_PARAPHRASES`; `HELDOUT_PARAPHRASES` are
never shown in training, so a student's generalisation to unseen wording can be measured.
The two sets are disjoint by construction (`tests/test_sim_language.py` checks it).

Instructions use only `INSTRUCTION_CHARSET` (lowercase letters and spaces), which is also
the charset of the env's `instruction` observation space.
"""

from __future__ import annotations

import re
import string

INSTRUCTION_CHARSET = string.ascii_lowercase + " "
MAX_INSTRUCTION_LENGTH = 120
SPLITS = ("train", "heldout")

TRAIN_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "PickPlace": (
        "pick the {colour} {part} and place it in the {bin} bin",
        "put the {colour} {part} in the {bin} bin",
        "move the {colour} {part} into the {bin} bin",
        "grab the {colour} {part} and drop it into the {bin} bin",
        "pick up the {colour} {part} and put it in the {bin} bin",
        "place the {colour} {part} into the {bin} bin",
        "transfer the {colour} {part} to the {bin} bin",
    ),
}

HELDOUT_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "PickPlace": (
        "the {colour} {part} belongs in the {bin} bin",
        "take the {colour} {part} over to the {bin} bin",
        "deposit the {colour} {part} inside the {bin} bin",
        "could you stow the {colour} {part} in the {bin} bin",
        "load the {bin} bin with the {colour} {part}",
    ),
}


def paraphrases(task: str, split: str) -> tuple[str, ...]:
    """The templates of `task` in `split` ("train" or "heldout")."""
    if split not in SPLITS:
        raise ValueError(f"instruction split {split!r}, expected one of {SPLITS}")
    table = TRAIN_PARAPHRASES if split == "train" else HELDOUT_PARAPHRASES
    if task not in table:
        raise ValueError(f"no instruction templates for task {task!r}; known: {sorted(table)}")
    return table[task]


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for slot in re.findall(r"\{(\w+)\}", template):
        pattern = pattern.replace(re.escape("{" + slot + "}"), f"(?P<{slot}>[a-z]+)")
    return re.compile(f"^{pattern}$")


def parse_instruction(task: str, text: str) -> dict[str, str] | None:
    """Slot values and split of an instruction produced from `task`'s templates, or None.

    Lets evaluation and tests check that an instruction came from the templates and
    recover what it asks for, e.g. ``{"colour": "red", "part": "cube", "bin": "left", "split": "train"}``.
    """
    for split in SPLITS:
        for template in paraphrases(task, split):
            match = _template_regex(template).match(text)
            if match:
                return {**match.groupdict(), "split": split, "template": template}
    return None
