"""More ways to state and ask each trained fact kind, for training only.

Each kind in seam.tasks.facts has a few phrasings per act, split by position into train / val / test; the
training split then holds four statements and four questions per kind, and the memory learned to read
after those: a held-out phrasing ("Outside work, I do a lot of ...") is read back as "You haven't told me".
These phrasings widen only the training split (`SuiteBuilder.templates` adds them for split "train"); the
validation and test phrasings stay as they were, so the benchmark's figures stay comparable, and a test
checks that none of these is a validation or test phrasing. Written by hand, as people talk to an
assistant: asides, fragments, facts inside longer turns, questions with a preamble.

Slots as in facts.py: {value}, {article} (a/an for jobs), {species}, {relation}.
"""

from __future__ import annotations

TRAIN_ONLY: dict[str, dict[str, tuple[str, ...]]] = {
    "name": {
        "statements": (
            "Oh, before I forget, my name is {value}.",
            "I'm {value}, nice to meet you!",
            "{value} is my name.",
            "Let me introduce myself: {value}.",
            "Just so you know who you're talking to, I'm {value}.",
            "It's {value} here again, hello.",
            "My friends know me as {value}.",
            "Please address me as {value}.",
            "Hello, {value} speaking. Could you help me with something?",
            "I am called {value}.",
            "First time chatting with you. I'm {value}.",
            "Hey! Name's {value}. How's it going?",
        ),
        "questions": (
            "Do you know what my name is?",
            "What did I say my name was?",
            "Sorry, quick check: what's my name again?",
            "How should you address me?",
            "Tell me my name, please.",
            "By the way, what am I called?",
            # identity-style questions, which the bare model reads as about itself ("I'm a creative AI assistant"):
            # memory has to map them to the stored name (scripts/refusal_probe.py: session 24)
            "Do you know who I am?",
            "Who's talking to you right now?",
            "Any idea who this is?",
            "Who did I say I was?",
        ),
    },
    "city": {
        "statements": (
            "I'm from {value} and I still live there.",
            "Greetings from {value}, my home town.",
            "We live in {value}, my family and I.",
            "I've made my home in {value}.",
            "My flat is in {value}.",
            "I live over in {value}.",
            "Quick context: I'm in {value}.",
            "It's raining again here in {value}, where I live.",
            "I moved to {value} years ago and have lived there since.",
            "My place is in {value}.",
        ),
        "questions": (
            "What's my city?",
            "Tell me where I live.",
            "Which city did I say I live in?",
            "Where's home for me?",
            "Sorry, where do I live again?",
            "Where did I tell you I'm living?",
        ),
    },
    "job": {
        "statements": (
            "I'm working as {article} {value} these days.",
            "By trade I'm {article} {value}.",
            "My work? I'm {article} {value}.",
            "I do a job as {article} {value}.",
            "Professionally, I'm {article} {value}.",
            "I trained as {article} {value} and that's what I do.",
            "Long day at work today. I'm {article} {value}, so that's normal.",
            "I make a living as {article} {value}.",
            "My occupation is {value}.",
            "I'm employed as {article} {value}.",
        ),
        "questions": (
            "What do I do for work?",
            "What's my job?",
            "Tell me what my job is.",
            "What did I say I work as?",
            "Remind me of my occupation.",
            "How do I earn my living?",
        ),
    },
    "employer": {
        "statements": (
            "The company I work for is {value}.",
            "I joined {value} a while ago and still work there.",
            "My workplace is {value}.",
            "I get my paycheck from {value}.",
            "These days I'm working for {value}.",
            "I'm at {value}, that's my employer.",
            "Busy week at {value}, where I work.",
            "I've been with {value} for a few years now.",
        ),
        "questions": (
            "What's the name of my employer?",
            "Where am I employed?",
            "Tell me which company employs me.",
            "What company did I say I work at?",
        ),
    },
    "pet": {
        "statements": (
            "I have a {species} called {value}.",
            "I adopted a {species} and named it {value}.",
            "At home I have a {species}, {value}.",
            "My little {species} {value} says hello.",
            "The name of my {species} is {value}.",
            "I look after my {species}, {value}, every morning.",
            "Meet my {species}: {value}.",
        ),
        "questions": (
            "Do you know my {species}'s name?",
            "Tell me my {species}'s name.",
            "Remind me, what's my {species}'s name?",
        ),
    },
    "sibling": {
        "statements": (
            "The name of my {relation} is {value}.",
            "I talked to my {relation} {value} today.",
            "My only {relation} is {value}.",
            "I grew up with my {relation}, {value}.",
            "My {relation} goes by {value}.",
        ),
        "questions": (
            "Do you know my {relation}'s name?",
            "What is the name of my {relation}?",
            "Tell me my {relation}'s name.",
            "Remind me what my {relation} is called.",
        ),
    },
    "sibling_city": {
        "statements": (
            "My {relation} moved to {value} and lives there now.",
            "I visit my {relation} in {value} sometimes.",
            "My {relation} calls {value} home.",
            "My {relation} is living in {value} these days.",
        ),
        "questions": (
            "Which city does my {relation} live in?",
            "Where's my {relation}'s home?",
            "Tell me where my {relation} lives.",
            "Do you know where my {relation} lives?",
            "In which city is my {relation}?",
        ),
    },
    "food": {
        "statements": (
            "My favourite thing to eat is {value}.",
            "If I could eat one food forever, it would be {value}.",
            "I'm a big fan of {value}, it's my favourite food.",
            "Food-wise, {value} is my favourite.",
            "Best food in the world? {value}.",
        ),
        "questions": (
            "What's my favourite food?",
            "Tell me my favourite food.",
            "What do I love to eat most?",
            "Which food is my favourite?",
        ),
    },
    "colour": {
        "statements": (
            "If you ask me, {value} is the best colour.",
            "Colour-wise, I prefer {value}.",
            "My favourite shade is {value}.",
            "I'd paint everything {value} if I could, it's my favourite colour.",
            "Favourite colour: {value}.",
        ),
        "questions": (
            "Tell me my favourite colour.",
            "What colour do I prefer?",
            "Which colour is my favourite?",
        ),
    },
    "hobby": {
        "statements": (
            "I spend my weekends {value}.",
            "For fun I do {value}.",
            "When I'm not working, I'm {value}.",
            "I relax by {value}.",
            "My main hobby is {value}.",
            "I've taken up {value} as a hobby.",
        ),
        "questions": (
            "What's my hobby?",
            "What do I do for fun?",
            "What do I like doing in my free time?",
            "Tell me what my hobby is.",
            "How do I spend my spare time?",
        ),
    },
    "age": {
        "statements": (
            "I am {value} years old.",
            "I'm {value}.",
            "I'm {value} years of age.",
            "Age-wise, I'm {value}.",
            "At {value} years old, I'm learning new things.",
            "I'll tell you my age: {value}.",
        ),
        "questions": (
            "Tell me my age.",
            "Do you know how old I am?",
        ),
    },
}
