"""Kinds of personal facts users tell an assistant: how each is stated, asked, corrected and changed.

Every kind has several phrasings of each act, split by position into train / val / test (`phrasings`):
the benchmark states and asks in test phrasings only, which training never sees. A few kinds are held
out altogether (`held_out=True`): they occur only in the test split, so the benchmark can tell
"remember what the user said" from "remember the kinds you were trained on". Others occur only in training
(`train_only=True`: breadth to generalise from) or only in validation (`validation_only=True`: a kind never trained
that choosing a checkpoint can see, standing in for the held-out ones it must not). The breadth kinds
(`BREADTH_KINDS`: an instrument, a car, a doctor's name, an allergy...) are only trained, by the mix's `breadth`
episodes, and are not among the benchmark's kinds at all.

Templates use {value} (the fact), {old} (the value being replaced), {article} ("a"/"an" before a job),
{species} (the pet's species) and {relation} ("sister"/"brother").
"""

from __future__ import annotations

from dataclasses import dataclass

from .values import SPLITS

PHRASING_TEST_EVERY = 4
"""Every 4th phrasing of an act (positions 3, 7, ...) is a test phrasing, the one before each of them
(positions 2, 6, ...) a validation phrasing, the rest train phrasings."""


def phrasings(templates: tuple[str, ...], split: str) -> tuple[str, ...]:
    """The templates of one split: position p % 4 == 3 is test, == 2 is val, else train. Disjoint by
    construction; a kind with at least 4 phrasings of an act has at least one in each split."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose from {', '.join(SPLITS)}.")
    want = {"test": {3}, "val": {2}, "train": {0, 1}}[split]
    return tuple(t for p, t in enumerate(templates) if p % PHRASING_TEST_EVERY in want)


@dataclass(frozen=True)
class FactKind:
    """A personal fact: the value pool it draws from and the phrasings of each act."""

    name: str
    pool: str
    """The kind of value in seam.tasks.values (e.g. 'person_name' for the user's name)."""
    statements: tuple[str, ...]
    questions: tuple[str, ...]
    answer: str
    """The reply training teaches ("Your name is {value}.")."""
    unknown: str
    """The reply to a question about this fact when it was never told ("You haven't told me your name.")."""
    changes: tuple[str, ...] = ()
    """Statements of a change over time ("I moved to {value}."): the new value replaces the old one."""
    case_sensitive: bool = False
    """Names, places and companies are matched as written (a town called "Most" is not the word "most");
    jobs, foods and the rest case-insensitively."""
    held_out: bool = False
    """Only in the test split: never trained, never validated on."""
    train_only: bool = False
    """Only in the training split, every phrasing a training one: more kinds of fact to learn "remember what
    the user said" from, so that it generalises to kinds never trained; the benchmark never asks about them
    (its validation and test rows stay as they were)."""
    validation_only: bool = False
    """Only in the validation split, never trained or tested: the selection rows' "kinds never trained" row, a
    stand-in for the test split's held-out kinds, which choosing a checkpoint must never see (added in session 26)."""
    label: str = ""
    """A short human label for tables ('name', 'city', ...)."""

    def __post_init__(self) -> None:
        if self.held_out + self.train_only + self.validation_only > 1:
            raise ValueError(f"Fact kind {self.name!r} can be at most one of held out (test only), training only and "
                             "validation only.")
        for act in ("statements", "questions"):
            if len(getattr(self, act)) < 4:
                raise ValueError(f"Fact kind {self.name!r} needs at least 4 {act} (one per split), has {len(getattr(self, act))}.")

    @property
    def only_split(self) -> str | None:
        """The one split this kind is in ("test" held out, "train" training only, "val" validation only), or None: all."""
        return "test" if self.held_out else "train" if self.train_only else "val" if self.validation_only else None

    @property
    def never_trained(self) -> bool:
        """Held out of training: a test-only or a validation-only kind."""
        return self.only_split in ("test", "val")

    @property
    def one_split(self) -> bool:
        """In one split only (held out, training only or validation only): every phrasing is that split's."""
        return self.only_split is not None

    def states(self, split: str) -> tuple[str, ...]:
        return phrasings(self.statements, split)

    def asks(self, split: str) -> tuple[str, ...]:
        return phrasings(self.questions, split)

    def changes_in(self, split: str) -> tuple[str, ...]:
        return phrasings(self.changes, split) if len(self.changes) >= 4 else ()


# Corrections are the same acts for every kind: the old value was wrong, here is the right one. {statement}
# is the kind's own statement of the new value (in the same split's phrasing).
CORRECTIONS = (
    "Actually, it's {value}, not {old}.",
    "Sorry, I got that wrong. {statement}",
    "Let me correct myself: {statement}",
    "{value}, not {old}.",
    "Correction: {statement}",
    "Oops, not {old}. {statement}",
    "Scratch that, {old} was a mistake. {statement}",
    "I misspoke earlier. {statement}",
)


VALIDATION_CORRECTIONS = ("{value}. I said {old} by mistake.",)
"""Correction phrasings of the validation split only, after its own: one that says the new value before anything else
(session 37). Half the test split's corrections do ("{value}, not {old}."), and a key made from causal states cannot
tell what such a value is; the validation split's own correction phrasings all state it after its frame, so no
selection row saw that failure (validation 67 % where the test split said 29 %)."""


def correction_phrasings(split: str) -> tuple[str, ...]:
    """The correction phrasings of a split: CORRECTIONS' by position, and for validation VALIDATION_CORRECTIONS too."""
    return phrasings(CORRECTIONS, split) + (VALIDATION_CORRECTIONS if split == "val" else ())


def article(value: str) -> str:
    return "an" if value[:1].lower() in "aeiou" else "a"


FACT_KINDS: dict[str, FactKind] = {k.name: k for k in (
    FactKind(
        "name", "person_name", label="name", case_sensitive=True,
        statements=(
            "Hello! My name is {value}.",
            "Hi, I'm {value}.",
            "Nice to meet you, I am {value}.",
            "Good morning! The name's {value}.",
            "Hey there, call me {value}.",
            "My name is {value}, by the way.",
            "This is {value} speaking.",
            "You can call me {value}.",
            "I go by {value}.",
            "Hi! {value} here, nice to meet you.",
            "Everyone calls me {value}.",
            "Hi there, {value} here. I have a question for you later.",
        ),
        questions=(
            "What is my name?",
            "Do you remember my name?",
            "Who am I?",
            "Can you tell me my name?",
            "What's my name?",
            "What do people call me?",
            "What name did I give you?",
            "Remind me, what am I called?",
        ),
        answer="Your name is {value}.",
        unknown="You haven't told me your name yet.",
        changes=(
            "I changed my name, it's {value} now.",
            "From now on please call me {value}.",
            "I go by {value} these days.",
            "I've legally changed my name to {value}.",
        ),
    ),
    FactKind(
        "city", "city", label="city", case_sensitive=True,
        statements=(
            "I live in {value}.",
            "I'm based in {value}.",
            "My home is in {value}.",
            "I'm writing to you from {value}, where I live.",
            "These days I live in {value}.",
            "Home for me is {value}.",
            "I've been living in {value} for a few years.",
            "I reside in {value}.",
        ),
        questions=(
            "Where do I live?",
            "What city do I live in?",
            "Which city am I based in?",
            "Do you remember where I live?",
            "Where is my home?",
            "In which city do I live?",
            "Where am I based?",
            "Which town is home for me?",
        ),
        answer="You live in {value}.",
        unknown="You haven't told me where you live.",
        changes=(
            "I moved to {value}.",
            "I've just relocated to {value}.",
            "We moved house, I live in {value} now.",
            "I recently moved to {value}.",
            "I packed up and moved to {value} last month.",
            "New address: I'm in {value} now.",
            "I live in {value} since the move.",
            "I've settled in {value} now.",
        ),
    ),
    FactKind(
        "job", "job", label="job",
        statements=(
            "I work as {article} {value}.",
            "I'm {article} {value}.",
            "My job is {value}.",
            "I'm {article} {value} by profession.",
            "For a living I work as {article} {value}.",
            "I earn my living as {article} {value}.",
            "My profession: {value}.",
            "I've been {article} {value} for years.",
        ),
        questions=(
            "What is my job?",
            "What do I do for a living?",
            "What's my profession?",
            "What do I work as?",
            "What is my occupation?",
            "Do you remember my job?",
            "What kind of work do I do?",
            "What's my line of work?",
        ),
        answer="You work as {article} {value}.",
        unknown="You haven't told me what you do.",
        changes=(
            "I changed jobs, I'm now {article} {value}.",
            "I started a new job as {article} {value}.",
            "I switched careers and now work as {article} {value}.",
            "These days I work as {article} {value}.",
            "I've become {article} {value}.",
            "New job: I'm {article} {value} now.",
            "I got hired as {article} {value}.",
            "I retrained as {article} {value}.",
        ),
    ),
    FactKind(
        "employer", "employer", label="employer", case_sensitive=True,
        statements=(
            "I work at {value}.",
            "My employer is {value}.",
            "I'm employed by {value}.",
            "I have a job at {value}.",
            "I work for {value}.",
            "My company is {value}.",
            "I'm on the staff at {value}.",
            "I've worked at {value} for two years.",
        ),
        questions=(
            "Where do I work?",
            "Who is my employer?",
            "Which company do I work for?",
            "Who do I work for?",
            "What company am I employed by?",
            "Do you remember where I work?",
            "What's the name of my company?",
            "Which firm employs me?",
        ),
        answer="You work at {value}.",
        unknown="You haven't told me where you work.",
        changes=(
            "I now work at {value}.",
            "I changed employers, I'm at {value} now.",
            "I joined {value} last week.",
            "I've moved to a new company: {value}.",
        ),
    ),
    FactKind(
        "pet", "pet_name", label="pet's name", case_sensitive=True,
        statements=(
            "My {species} is called {value}.",
            "I have a {species} named {value}.",
            "My {species}'s name is {value}.",
            "We have a {species}, {value}.",
            "Our {species} is named {value}.",
            "I adopted a {species} called {value}.",
            "{value} is my {species}.",
            "I live with my {species}, {value}.",
        ),
        questions=(
            "What is my {species}'s name?",
            "What's my {species} called?",
            "What did I name my {species}?",
            "Do you remember my {species}'s name?",
            "What is the name of my {species}?",
            "What's my pet called?",
            "What do I call my {species}?",
            "Remind me of my {species}'s name.",
        ),
        answer="Your {species} is called {value}.",
        unknown="You haven't told me about a pet.",
    ),
    FactKind(
        "sibling", "sibling_name", label="sibling's name", case_sensitive=True,
        statements=(
            "My {relation} is called {value}.",
            "I have a {relation} named {value}.",
            "My {relation}'s name is {value}.",
            "My {relation} {value} is visiting next week.",
            "My older {relation} is {value}.",
            "{value} is my {relation}.",
            "I'm close to my {relation}, {value}.",
            "My younger {relation} is called {value}.",
        ),
        questions=(
            "What is my {relation}'s name?",
            "What's my {relation} called?",
            "Who is my {relation}?",
            "What's the name of my {relation}, again?",
            "What name does my {relation} have?",
            "How is my {relation} called?",
            "Can you remind me who my {relation} is?",
            "What did I say my {relation} is called?",
        ),
        answer="Your {relation} is called {value}.",
        unknown="You haven't told me about your {relation}.",
    ),
    FactKind(
        "sibling_city", "city", label="sibling's city", case_sensitive=True,
        statements=(
            "My {relation} lives in {value}.",
            "My {relation} is based in {value}.",
            "My {relation} moved to {value} years ago.",
            "My {relation}'s home is in {value}.",
            "My {relation} has a flat in {value}.",
            "My {relation} lives over in {value}.",
            "My {relation} settled in {value}.",
            "My {relation} resides in {value}.",
        ),
        questions=(
            "Where does my {relation} live?",
            "What city does my {relation} live in?",
            "Which city is my {relation} based in?",
            "Do you remember where my {relation} lives?",
            "Where is my {relation}'s home?",
            "In which city does my {relation} live?",
            "Where is my {relation} based?",
            "Which town does my {relation} call home?",
        ),
        answer="Your {relation} lives in {value}.",
        unknown="You haven't told me where your {relation} lives.",
    ),
    FactKind(
        "food", "food", label="favourite food",
        statements=(
            "My favourite food is {value}.",
            "I love {value} more than any other food.",
            "Nothing beats {value} for me.",
            "My favourite dish is {value}.",
            "I could eat {value} every day.",
            "{value} is my favourite food.",
            "If I had to pick one food, it would be {value}.",
            "I'm crazy about {value}.",
        ),
        questions=(
            "What is my favourite food?",
            "What food do I like best?",
            "What's my favourite dish?",
            "Which food do I love most?",
            "Do you remember my favourite food?",
            "What could I eat every day?",
            "What dish do I like the most?",
            "What's the food I love?",
        ),
        answer="Your favourite food is {value}.",
        unknown="You haven't told me your favourite food.",
    ),
    FactKind(
        "colour", "colour", label="favourite colour",
        statements=(
            "My favourite colour is {value}.",
            "I love the colour {value}.",
            "{value} is my favourite colour.",
            "The colour I like best is {value}.",
            "I always pick {value}, it's my favourite colour.",
            "My favourite color is {value}.",
            "I'm drawn to {value} more than any other colour.",
            "If I had to choose a colour, {value}.",
        ),
        questions=(
            "What is my favourite colour?",
            "Which colour do I like best?",
            "What's my favourite color?",
            "Do you remember my favourite colour?",
            "What colour do I love?",
            "Which colour do I always pick?",
            "What colour do I like the most?",
            "Remind me of my favourite colour.",
        ),
        answer="Your favourite colour is {value}.",
        unknown="You haven't told me your favourite colour.",
    ),
    FactKind(
        "hobby", "hobby", label="hobby",
        statements=(
            "My hobby is {value}.",
            "In my free time I enjoy {value}.",
            "I spend my weekends on {value}.",
            "I'm really into {value}.",
            "My favourite pastime is {value}.",
            "I love {value} in my spare time.",
            "{value} is my hobby.",
            "Outside work, I do a lot of {value}.",
        ),
        questions=(
            "What is my hobby?",
            "What do I do in my free time?",
            "What's my favourite pastime?",
            "What am I into?",
            "Do you remember my hobby?",
            "How do I spend my weekends?",
            "What do I enjoy in my spare time?",
            "What's my hobby again?",
        ),
        answer="Your hobby is {value}.",
        unknown="You haven't told me about your hobbies.",
        changes=(
            "These days I'm into {value}.",
            "I picked up a new hobby: {value}.",
            "I've taken up {value}.",
            "Lately my hobby is {value}.",
        ),
    ),
    FactKind(
        "age", "age", label="age",
        statements=(
            "I'm {value} years old.",
            "I am {value}.",
            "My age is {value}.",
            "I turned {value} this year.",
            "I'm {value}, for what it's worth.",
            "I'm a {value}-year-old.",
            "I just had my birthday, I'm {value} now.",
            "At {value}, I feel young.",
        ),
        questions=(
            "How old am I?",
            "What is my age?",
            "Do you remember my age?",
            "How old did I say I am?",
            "What age am I?",
            "How many years old am I?",
            "What's my age?",
            "Remind me how old I am.",
        ),
        answer="You are {value} years old.",
        unknown="You haven't told me your age.",
    ),
    # -- kinds only trained (session 25): breadth for generalisation, never in the benchmark's rows ----------
    FactKind(
        "music", "music", label="favourite music (training only)", train_only=True,
        statements=(
            "My favourite kind of music is {value}.",
            "I mostly listen to {value}.",
            "Put on some {value} and I'm happy.",
            "Music-wise, {value} is my thing.",
            "I've loved {value} since I was a teenager.",
            "My playlists are all {value}.",
        ),
        questions=(
            "What music do I like?",
            "What's my favourite kind of music?",
            "Which music do I listen to most?",
            "Do you know what music I'm a fan of?",
            "What should you play for me, music-wise?",
        ),
        answer="You like {value}.",
        unknown="You haven't told me what music you like.",
    ),
    FactKind(
        "partner", "sibling_name", label="partner's name (training only)", case_sensitive=True, train_only=True,
        statements=(
            "My partner is called {value}.",
            "I live with my partner, {value}.",
            "{value} and I have been together for ten years.",
            "My wife's name is {value}.",
            "My husband {value} says hello.",
            "I'm married to {value}.",
        ),
        questions=(
            "What's my partner called?",
            "Who am I married to?",
            "What is my partner's name?",
            "Do you know my partner's name?",
            "Who do I live with?",
        ),
        answer="Your partner is called {value}.",
        unknown="You haven't told me about a partner.",
    ),
    FactKind(
        "country", "country", label="home country (training only)", case_sensitive=True, train_only=True,
        statements=(
            "I'm originally from {value}.",
            "I was raised in {value}.",
            "My home country is {value}.",
            "I grew up in {value} before I moved away.",
            "{value} is where I'm from.",
            "My family comes from {value}.",
        ),
        questions=(
            "Where am I originally from?",
            "Which country did I grow up in?",
            "What's my home country?",
            "Do you know where I'm from?",
            "Where was I raised?",
        ),
        answer="You are from {value}.",
        unknown="You haven't told me where you're from.",
    ),
    FactKind(
        "child", "sibling_name", label="child's name (training only)", case_sensitive=True, train_only=True,
        statements=(
            "My son is called {value}.",
            "My daughter's name is {value}.",
            "Our kid {value} starts school next week.",
            "I have a little one named {value}.",
            "{value} is my eldest child.",
            "I'm picking up my kid, {value}, at four.",
        ),
        questions=(
            "What's my child called?",
            "What is my kid's name?",
            "Do you know what my child is called?",
            "Who is my kid?",
            "Which name did I give for my child?",
        ),
        answer="Your child is called {value}.",
        unknown="You haven't told me about your children.",
    ),
    FactKind(
        "friend", "sibling_name", label="best friend's name (training only)", case_sensitive=True, train_only=True,
        statements=(
            "My best friend is {value}.",
            "I'm meeting my best friend {value} tonight.",
            "{value} has been my best friend since school.",
            "My closest friend is called {value}.",
            "I went hiking with my best mate, {value}.",
            "Nobody knows me like my best friend {value}.",
        ),
        questions=(
            "Who is my best friend?",
            "What's my best friend called?",
            "Do you know my best friend's name?",
            "Who's my closest friend?",
            "Which friend did I say I'm closest to?",
        ),
        answer="Your best friend is {value}.",
        unknown="You haven't told me about your best friend.",
    ),
    FactKind(
        "hometown", "city", label="hometown (training only)", case_sensitive=True, train_only=True,
        statements=(
            "My hometown is {value}.",
            "I grew up in the town of {value}.",
            "{value} is the town I grew up in.",
            "Back in my hometown, {value}, everyone knew each other.",
            "I spent my childhood in {value}.",
            "I'm going back to my hometown, {value}, for the holidays.",
        ),
        questions=(
            "What's my hometown?",
            "Which town did I grow up in?",
            "Where did I spend my childhood?",
            "Do you know my hometown?",
            "Where is my hometown?",
        ),
        answer="Your hometown is {value}.",
        unknown="You haven't told me your hometown.",
    ),
    # -- kinds only in the validation split (session 26): never trained, so selection sees generalisation ----
    FactKind(
        "colleague", "sibling_name", label="colleague's name (validation only)", case_sensitive=True, validation_only=True,
        statements=(
            "My colleague {value} sits next to me.",
            "I share an office with {value}.",
            "My coworker is called {value}.",
            "{value} and I work on the same team.",
        ),
        questions=(
            "What's my colleague called?",
            "Who do I share an office with?",
            "What is my coworker's name?",
            "Who is on my team at work?",
        ),
        answer="Your colleague is called {value}.",
        unknown="You haven't told me about your colleagues.",
    ),
    FactKind(
        "drink", "drink", label="favourite drink (validation only)", validation_only=True,
        statements=(
            "My favourite drink is {value}.",
            "I always order {value}.",
            "Nothing beats a glass of {value}.",
            "I drink {value} every morning.",
        ),
        questions=(
            "What is my favourite drink?",
            "What do I always order?",
            "Which drink do I like best?",
            "What do I drink every morning?",
        ),
        answer="Your favourite drink is {value}.",
        unknown="You haven't told me your favourite drink.",
    ),
    # Session 36: two stand-ins further from every trained kind than a colleague (a sibling's name) and a drink (a food):
    # on the test split the held-out kinds the read refuses are a language and a date, and stand-ins that the trained
    # kinds' read already matches hid it (results/design/abstain_match, stage 7).
    FactKind(
        "anniversary", "birthday", label="wedding anniversary (validation only)", validation_only=True,
        statements=(
            "Our wedding anniversary is on {value}.",
            "We got married on {value}.",
            "We celebrate our anniversary every year on {value}.",
            "{value} is our wedding anniversary.",
        ),
        questions=(
            "When is our wedding anniversary?",
            "What date did we get married?",
            "On which day do we celebrate our anniversary?",
            "When is our anniversary?",
        ),
        answer="Your wedding anniversary is on {value}.",
        unknown="You haven't told me your wedding anniversary.",
    ),
    FactKind(
        "gemstone", "gemstone", label="favourite gemstone (validation only)", validation_only=True,
        statements=(
            "My favourite gemstone is {value}.",
            "I love {value} more than any other gem.",
            "My ring is set with my favourite stone, {value}.",
            "If I could own one gem, it would be {value}.",
        ),
        questions=(
            "What is my favourite gemstone?",
            "Which gem do I love most?",
            "What stone is my ring set with?",
            "Which gemstone would I choose?",
        ),
        answer="Your favourite gemstone is {value}.",
        unknown="You haven't told me your favourite gemstone.",
    ),
    # -- kinds held out of training: only in the test split --------------------------------------------
    FactKind(
        "language", "language", label="language (never trained)", held_out=True,
        statements=(
            "I speak {value}.",
            "My native language is {value}.",
            "I grew up speaking {value}.",
            "My first language is {value}.",
        ),
        questions=(
            "What language do I speak?",
            "What is my native language?",
            "Which language did I grow up speaking?",
            "What's my first language?",
        ),
        answer="You speak {value}.",
        unknown="You haven't told me which language you speak.",
    ),
    FactKind(
        "sport", "sport", label="favourite sport (never trained)", held_out=True,
        statements=(
            "My favourite sport is {value}.",
            "I love playing {value}.",
            "I'm a big {value} fan.",
            "The sport I like best is {value}.",
        ),
        questions=(
            "What is my favourite sport?",
            "Which sport do I love?",
            "What sport am I a fan of?",
            "Which sport do I like best?",
        ),
        answer="Your favourite sport is {value}.",
        unknown="You haven't told me your favourite sport.",
    ),
    FactKind(
        "birthday", "birthday", label="birthday (never trained)", held_out=True,
        statements=(
            "My birthday is on {value}.",
            "I was born on {value}.",
            "I celebrate my birthday on {value}.",
            "{value} is my birthday.",
        ),
        questions=(
            "When is my birthday?",
            "What date is my birthday?",
            "When was I born?",
            "On which day do I celebrate my birthday?",
        ),
        answer="Your birthday is on {value}.",
        unknown="You haven't told me your birthday.",
    ),
)}

def _breadth(name: str, pool: str, label: str, statements: tuple[str, ...], questions: tuple[str, ...], answer: str,
             unknown: str, case_sensitive: bool = False) -> FactKind:
    return FactKind(name, pool, statements, questions, answer, unknown, case_sensitive=case_sensitive, train_only=True,
                    label=f"{label} (breadth, training only)")


BREADTH_KINDS: dict[str, FactKind] = {k.name: k for k in (
    _breadth("instrument", "instrument", "instrument",
             ("I play the {value}.", "I've been learning the {value} for years.", "My instrument is the {value}.",
              "In the band I'm on the {value}.", "I practise the {value} every evening."),
             ("What instrument do I play?", "Which instrument am I learning?", "What's my instrument?",
              "Do you remember what I play in the band?", "What do I practise every evening?"),
             "You play the {value}.", "You haven't told me whether you play an instrument."),
    _breadth("car", "car", "car",
             ("I drive a {value}.", "My car is a {value}.", "I just bought a second-hand {value}.",
              "I get around in my old {value}.", "The {value} in the driveway is mine."),
             ("What car do I drive?", "What kind of car do I have?", "Which car did I buy?", "Do you know what I drive?",
              "What's my car?"),
             "You drive a {value}.", "You haven't told me what car you drive.", case_sensitive=True),
    _breadth("subject", "subject", "subject studied",
             ("I studied {value} at university.", "My degree is in {value}.", "I majored in {value}.",
              "At uni I read {value}.", "I have a master's in {value}."),
             ("What did I study?", "What is my degree in?", "What did I major in?", "Which subject did I read at university?",
              "Do you remember what my degree is?"),
             "You studied {value}.", "You haven't told me what you studied."),
    _breadth("allergy", "allergen", "allergy",
             ("I'm allergic to {value}.", "I have an allergy to {value}.", "I break out in hives from {value}.",
              "Keep {value} away from me, I'm allergic.", "My doctor confirmed I'm allergic to {value}."),
             ("What am I allergic to?", "What's my allergy?", "Do you remember my allergy?", "Which allergy do I have?",
              "What should I avoid because of my allergy?"),
             "You are allergic to {value}.", "You haven't told me about any allergies."),
    _breadth("flower", "flower", "favourite flower",
             ("My favourite flower is the {value}.", "I love the {value} more than any other flower.",
              "If you bring me flowers, make it a {value}.", "The {value} is the flower I like best.",
              "My garden is full of my favourite flower, the {value}."),
             ("What's my favourite flower?", "Which flower do I like best?", "What flower should you bring me?",
              "Do you know my favourite flower?", "Which flower do I love most?"),
             "Your favourite flower is the {value}.", "You haven't told me your favourite flower."),
    _breadth("films", "film_genre", "favourite films",
             ("I mostly watch {value}.", "My favourite films are {value}.", "I can't get enough of {value}.",
              "For a film night I always pick {value}.", "Give me {value} any day."),
             ("What films do I like?", "What kind of film do I watch most?", "What should we watch for a film night?",
              "Do you know my favourite kind of film?", "Which films are my favourite?"),
             "You like watching {value}.", "You haven't told me what films you like."),
    _breadth("animal", "animal", "favourite animal",
             ("My favourite animal is the {value}.", "I've always loved the {value} most of all animals.",
              "If I could be any animal I'd be a {value}.", "The {value} is my favourite animal.",
              "Nothing is cuter than a {value}, my favourite animal."),
             ("What's my favourite animal?", "Which animal do I like most?", "What animal would I be?",
              "Do you remember my favourite animal?", "Which animal is my favourite?"),
             "Your favourite animal is the {value}.", "You haven't told me your favourite animal."),
    _breadth("board_game", "board_game", "favourite board game",
             ("My favourite board game is {value}.", "We play {value} every game night.", "I never lose at {value}.",
              "{value} is the best board game ever.", "I always suggest {value} when friends come over."),
             ("What's my favourite board game?", "Which game do we play on game night?", "What game do I never lose at?",
              "Do you know my favourite board game?", "Which board game do I like best?"),
             "Your favourite board game is {value}.", "You haven't told me your favourite board game."),
    _breadth("number", "number", "favourite number",
             ("My favourite number is {value}.", "My lucky number is {value}.", "I always pick {value} as my number.",
              "{value} is my lucky number.", "The number I like best is {value}."),
             ("What's my favourite number?", "What is my lucky number?", "Which number do I always pick?",
              "Do you remember my lucky number?", "Which number do I like best?"),
             "Your favourite number is {value}.", "You haven't told me your favourite number."),
    _breadth("grandmother", "sibling_name", "grandmother's name",
             ("My grandmother's name is {value}.", "My gran, {value}, turns ninety next month.",
              "I'm visiting my grandma {value} this weekend.", "{value} is my grandmother.",
              "My nan is called {value}."),
             ("What's my grandmother called?", "Who is my grandmother?", "What is my gran's name?",
              "Who am I visiting this weekend?", "Do you remember my grandma's name?"),
             "Your grandmother is called {value}.", "You haven't told me about your grandmother.", case_sensitive=True),
    _breadth("doctor", "surname", "doctor's name",
             ("My doctor is Dr {value}.", "I'm seeing Dr {value} on Monday.", "My GP is called Dr {value}.",
              "Dr {value} has been my doctor for years.", "I've got an appointment with my doctor, Dr {value}."),
             ("Who is my doctor?", "What's my doctor's name?", "Which doctor am I seeing?", "Do you know my GP's name?",
              "Who do I have an appointment with?"),
             "Your doctor is Dr {value}.", "You haven't told me who your doctor is.", case_sensitive=True),
    _breadth("holiday", "city", "favourite holiday place",
             ("My favourite place to go on holiday is {value}.", "Every summer we go on holiday to {value}.",
              "I'd go back to {value} for a holiday any time.", "{value} is where I spend my holidays.",
              "Our holiday home is in {value}."),
             ("Where do I like to go on holiday?", "Where do we go every summer?", "Where is my holiday home?",
              "Do you know my favourite holiday spot?", "Where do I spend my holidays?"),
             "You like to go on holiday to {value}.", "You haven't told me where you go on holiday.", case_sensitive=True),
    _breadth("university", "city", "university town",
             ("I went to university in {value}.", "I did my degree at the University of {value}.",
              "My university was in {value}.", "I spent my student years in {value}.", "I graduated from university in {value}."),
             ("Where did I go to university?", "Which university did I attend?", "Where did I spend my student years?",
              "Do you remember where I graduated?", "Where was my university?"),
             "You went to university in {value}.", "You haven't told me where you went to university.", case_sensitive=True),
)}
"""Kinds of fact only trained, none asked by the benchmark or the selection, drawn by the training mix's `breadth`
episodes (weight 0 by default, so earlier runs' mixes draw the same episodes; session 34): told and asked, or asked
and never told, so that a question about a kind the read has not seen no longer predicts "not told" by itself (42 of
the shipped SmolLM2 file's 53 told facts answered "not told" on the test split were of its never-trained kinds).
None is a language, a sport, a date or a drink, the kinds the benchmark and the selection hold out, and none is asked
like a benchmark kind: a nickname ("What do my friends call me?") and a street ("Which street do I live on?"), in the
first version, taught refusals of the user's name and city (on the test split "Remind me, what am I called?" answered
"not told" 8 -> 34 times of 229; results/design/breadth_kinds/)."""
KNOWN_KINDS: dict[str, FactKind] = {**FACT_KINDS, **BREADTH_KINDS}
"""Every fact kind by name, the benchmark's and the breadth ones (training looks an episode's kind up here)."""

SPECIES_DEFAULT = "dog"
RELATIONS = ("sister", "brother")


def kinds_in(split: str) -> list[FactKind]:
    """The fact kinds a split uses: held-out kinds only in test, training-only kinds only in train, validation-only
    kinds only in val."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose from {', '.join(SPLITS)}.")
    return [k for k in FACT_KINDS.values() if k.only_split in (None, split)]


def fill(template: str, value: str, **slots: str) -> str:
    """A template with its value (and the other slots it names) filled in."""
    fields = {"value": value, "article": article(value), "species": SPECIES_DEFAULT, "relation": "sister", "old": "", "statement": ""}
    fields.update(slots)
    return template.format(**fields)
