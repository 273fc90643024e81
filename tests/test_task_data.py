"""Value pools and general text of the benchmark: splits disjoint by construction (no shared base), name
styles as defined, sizes, determinism across runs, and no personal fact in the general text."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from seam.tasks import general
from seam.tasks.values import (
    NAME_STYLES,
    RESERVED_NAMES,
    SPLITS,
    VALUE_KINDS,
    WORLD_CITIES,
    fold,
    name_bases,
    person_names,
    split_of,
    values,
)

MIN_TEST_VALUES = {
    "person_name": 400,
    "sibling_name": 60,
    "pet_name": 60,
    "city": 60,
    "job": 60,
    "employer": 60,
    "food": 60,
    "birthday": 60,
    # Kinds the world has few of: about 20% of every plain colour, sport, genre, language...
    "country": 30,
    "language": 30,
    "hobby": 30,
    "music": 20,
    "sport": 20,
    "colour": 15,
    "age": 10,
    "species": 5,
    "drink": 15,  # most drinks are validation values (values.VALIDATION_VALUE_SHARES): only a validation-only kind asks for them
    "gemstone": 5,  # as drinks
    # Pools of the breadth kinds (facts.BREADTH_KINDS): only trained, split like the rest so no test value is drawn
    "surname": 1000,
    "number": 15,
    "instrument": 10,
    "car": 10,
    "subject": 10,
    "allergen": 10,
    "flower": 10,
    "film_genre": 10,
    "animal": 10,
    "board_game": 10,
}
NAME_KINDS = ("person_name", "sibling_name", "pet_name")
WHOLE_VALUE_KINDS = ("city", "country", "job", "species", "food", "colour", "sport", "music", "hobby", "language", "age", "birthday",
                     "drink", "gemstone")
NAME_SHAPE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*(?: [^\W\d_]+(?:['-][^\W\d_]+)*)?")
"""Letters, internal hyphens or apostrophes, at most one space."""


def test_min_test_sizes_cover_every_kind():
    assert set(MIN_TEST_VALUES) == set(VALUE_KINDS)


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_every_kind_has_three_disjoint_nonempty_splits(kind):
    pools = {split: set(values(kind, split)) for split in SPLITS}
    assert all(pools.values())
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            assert not pools[a] & pools[b], f"{kind}: {sorted(pools[a] & pools[b])[:5]} in {a} and {b}"


def test_name_bases_are_in_one_split_across_all_name_kinds():
    """Person, sibling and pet names (and employers' first words) share the base rule, so a base
    (first three letters of any word) occurs in one split only, across all of them."""
    split_of_base: dict[str, str] = {}
    for kind in (*NAME_KINDS, "employer"):
        for split in SPLITS:
            for value in values(kind, split):
                bases = name_bases(value.split(" ")[0]) if kind == "employer" else name_bases(value)
                for base in bases:
                    assert split_of_base.setdefault(base, split) == split, f"base {base!r} of {value!r} ({kind}) in two splits"


def test_ann_and_anna_smith_cannot_be_in_different_splits():
    assert name_bases("Anna-Lena Smith") == ("ann", "len", "smi")
    assert name_bases("Łukasz O'Brien") == ("luk", "obr")
    assert {split_of(base) for base in name_bases("Ann")} == {split_of(base) for base in name_bases("Anna")}


@pytest.mark.parametrize("kind", WHOLE_VALUE_KINDS)
def test_whole_value_kinds_share_no_folded_value_across_splits(kind):
    """"São Paulo" in test and "Sao Paulo" in train would be one city in two splits."""
    folded = {split: {fold(v) for v in values(kind, split)} for split in SPLITS}
    assert not folded["train"] & folded["val"] and not folded["train"] & folded["test"] and not folded["val"] & folded["test"]


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_reserved_demo_names_are_in_no_split(kind):
    reserved = {name.casefold() for name in RESERVED_NAMES}
    for split in SPLITS:
        for value in values(kind, split):
            assert not reserved & {w.casefold() for w in re.split(r"[ '-]", value)}, value


def _faker_name_words() -> set[str]:
    """Every word of every first and last name in every installed Faker person locale, folded."""
    providers = importlib.import_module("faker.providers.person")
    words: set[str] = set()
    for info in pkgutil.iter_modules(providers.__path__):
        provider = importlib.import_module(f"faker.providers.person.{info.name}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female", "last_names", "last_names_male", "last_names_female"):
            listed = getattr(provider, attr, None)
            if isinstance(listed, (tuple, list, dict)):
                words.update(fold(word) for name in listed for word in re.split(r"[ -]", str(name)))
    return words


@pytest.mark.parametrize("style", NAME_STYLES)
def test_every_name_style_has_test_names_of_its_shape(style):
    names = person_names(style, "test")
    assert len(names) >= 60
    for name in names:
        assert NAME_SHAPE.fullmatch(name), name
        assert all(word[0].isupper() for word in re.split(r"[ -]", name)), name
    if style == "first":
        assert all(name.isascii() and name.isalpha() for name in names)
    elif style == "first_last":
        assert all(name.isascii() and len(name.split(" ")) == 2 and name.replace(" ", "").isalpha() for name in names)
    elif style == "diacritics":
        assert all(not name.isascii() and "-" not in name and "'" not in name for name in names)
    elif style == "hyphen_apostrophe":
        assert all("-" in name or "'" in name for name in names)
    elif style == "invented":
        real = _faker_name_words()
        assert all(name.isalpha() and fold(name) not in real for name in names)
        assert all(4 <= len(name) <= 9 for name in names)


def test_person_names_are_the_union_of_the_styles_and_styles_are_disjoint():
    for split in SPLITS:
        by_style = [set(person_names(style, split)) for style in NAME_STYLES]
        assert set(values("person_name", split)) == set().union(*by_style)
        assert sum(map(len, by_style)) == len(values("person_name", split))


def test_sibling_names_are_the_first_names_of_the_split():
    for split in SPLITS:
        assert values("sibling_name", split) == person_names("first", split)


def test_values_are_sorted_deduplicated_and_the_same_on_every_call():
    for kind in VALUE_KINDS:
        first = values(kind, "test")
        assert first == sorted(set(first))
        first.append("mutated")  # callers get a copy
        assert values(kind, "test") == first[:-1]


def test_split_of_is_a_stable_hash_not_pythons_salted_hash():
    """Computed once with BLAKE2b; Python's hash() would change these with PYTHONHASHSEED."""
    keys = ("ann", "zoe", "luk", "paris", "18", "14 March")
    assert [split_of(key) for key in keys] == ["train", "train", "val", "train", "train", "train"]
    assert split_of("jos") == "test"
    assert values("age", "test") == ["24", "37", "54", "61", "70", "75", "76", "78", "80", "81", "84", "85"]


def test_split_shares_are_roughly_70_10_20():
    counts = {split: 0 for split in SPLITS}
    for i in range(5000):
        counts[split_of(f"key{i}")] += 1
    assert 0.67 < counts["train"] / 5000 < 0.73 and 0.08 < counts["val"] / 5000 < 0.12 and 0.18 < counts["test"] / 5000 < 0.22


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_test_split_meets_its_minimum_size_and_train_is_larger(kind):
    assert len(values(kind, "test")) >= MIN_TEST_VALUES[kind]
    assert len(values(kind, "train")) > len(values(kind, "test"))


def test_values_fit_in_a_sentence():
    for kind in VALUE_KINDS:
        for split in SPLITS:
            for value in values(kind, split):
                assert value == value.strip() and "  " not in value and not re.search(r"[()&/,;]", value), (kind, value)


def test_unknown_kind_style_or_split_raises_a_readable_error():
    with pytest.raises(ValueError, match=r"Unknown value kind 'planet'; the kinds are person_name"):
        values("planet", "test")
    with pytest.raises(ValueError, match=r"Unknown split 'holdout'; the splits are train, val, test"):
        values("city", "holdout")
    with pytest.raises(ValueError, match=r"Unknown name style 'nickname'"):
        person_names("nickname", "test")
    with pytest.raises(ValueError, match=r"Unknown split 'dev'"):
        general.general_questions("dev")
    with pytest.raises(ValueError, match=r"Unknown split"):
        general.unrelated_messages("Test")


# ----------------------------------------------------------------------------------------------------
# General text.

PERSONAL = re.compile(
    r"\b(my|mine|I'm|I am|I live|I work|I have|I've|call me|years old|born|wife|husband|brother|sister|mother|father|son|daughter)\b",
    re.IGNORECASE,
)
TEXTS = {
    "questions": lambda split: [q for q, _ in general.general_questions(split)],
    "prompts": general.general_prompts,
    "messages": general.unrelated_messages,
}


@pytest.mark.parametrize("name", TEXTS)
def test_general_text_splits_are_disjoint(name):
    pools = {split: TEXTS[name](split) for split in SPLITS}
    for split, texts in pools.items():
        assert len(texts) == len(set(texts)), f"{name}/{split} has duplicates"
    assert not set(pools["train"]) & set(pools["test"]) and not set(pools["val"]) & set(pools["test"])
    assert not set(pools["train"]) & set(pools["val"])


def test_general_text_sizes():
    questions = {split: len(general.general_questions(split)) for split in SPLITS}
    prompts = {split: len(general.general_prompts(split)) for split in SPLITS}
    messages = {split: len(general.unrelated_messages(split)) for split in SPLITS}
    assert sum(questions.values()) >= 700 and questions["test"] >= 400 and questions["val"] > 0 and questions["train"] > questions["val"]
    assert sum(prompts.values()) >= 200 and prompts["test"] >= 90 and prompts["train"] >= 70 and prompts["val"] >= 10
    assert sum(messages.values()) >= 160 and messages["test"] >= 60 and messages["train"] >= 60 and messages["val"] >= 10


@pytest.mark.parametrize("name", TEXTS)
def test_general_text_states_no_personal_fact(name):
    for split in SPLITS:
        for text in TEXTS[name](split):
            assert not PERSONAL.search(text), text
            assert "my name" not in text.lower()


def test_every_question_has_accepted_answers():
    for split in SPLITS:
        for question, answers in general.general_questions(split):
            assert question.endswith("?") and answers and all(a and a == a.strip() for a in answers), question


def test_numeric_answers_accept_digits_and_words():
    questions = dict(q for split in SPLITS for q in general.general_questions(split))
    assert {"12", "twelve"} <= set(questions["What is 5 plus 7?"])
    assert {"144", "one hundred and forty-four", "one hundred forty-four"} <= set(questions["What is 12 times 12?"])
    assert {"eight", "8"} <= set(questions["How many legs does a spider have?"])
    assert {"1440", "1,440", "one thousand four hundred and forty"} <= set(questions["How many minutes are in a day?"])
    assert questions["What is the capital of France?"] == ("Paris",)


def test_questions_of_one_table_row_share_a_split():
    split_of_question = {q: split for split in SPLITS for q, _ in general.general_questions(split)}
    for country, *_ in general.COUNTRIES:
        name = country.split("|")[0]
        asked = [split_of_question[f"What is the capital of {name}?"], split_of_question[f"Which city is the capital of {name}?"]]
        if f"On which continent is {name}?" in split_of_question:
            asked.append(split_of_question[f"On which continent is {name}?"])
        assert len(set(asked)) == 1, country
    assert split_of_question["What is the opposite of hot?"] == split_of_question["What is the opposite of cold?"]
    assert split_of_question["What is the chemical symbol for gold?"] == split_of_question["Which element has the chemical symbol Au?"]


def _phrases(text: str, max_words: int = 4) -> set[str]:
    """Every run of 1 to `max_words` consecutive words of `text` (hyphenated words and "Xi'an" count as one)."""
    words = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)*", text)
    return {" ".join(words[i : i + n]) for n in range(1, max_words + 1) for i in range(len(words) - n + 1)}


def test_unrelated_messages_mention_no_value_a_fact_could_have():
    """A filler message saying "pizza" or "blue" could pass for the user's favourite food or colour."""
    lowercase_kinds = ("food", "colour", "sport", "music", "hobby", "species", "job")
    common = {v.casefold() for kind in lowercase_kinds for split in SPLITS for v in values(kind, split)}
    proper = {v for split in SPLITS for kind in ("country", "language") for v in values(kind, split)} | set(WORLD_CITIES)
    for split in SPLITS:
        for message in general.unrelated_messages(split):
            assert not _phrases(message.casefold()) & common, message
            assert not _phrases(message) & proper, message
