"""More ways to state and ask each trained fact kind, for training only.

Each kind in seam.tasks.facts has a few phrasings per act, split by position into train / val / test; the
training split then holds four statements and four questions per kind, and the memory learned to read
after those: a held-out phrasing ("Outside work, I do a lot of ...") is read back as "You haven't told me".
These phrasings widen only the training split (`SuiteBuilder.templates` adds them for split "train"); the
validation and test phrasings stay as they were, so the benchmark's figures stay comparable, and a test
checks that none of these is a validation or test phrasing. Written by hand, as people talk to an
assistant: asides, fragments, facts inside longer turns, questions with a preamble. The later additions to
each kind (session 25) also keep clear of the constructions of its validation and test phrasings, not only
of their words (no "into" or "a lot of" for hobbies), so that what they add to a held-out figure is
generalisation, not a near copy.

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
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value}, that's me.",
            "{value}! That's my name, in case you wondered.",
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
            "Life in {value} suits me, I've been here a while.",
            "Currently living in {value}.",
            "I call {value} home.",
            "Our house is in {value}, close to the centre.",
            "Anyway, {value} is where I live, so the weather there matters to me.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} is home for me.",
            "{value}, that's where I live.",
        ),
        "questions": (
            "What's my city?",
            "Tell me where I live.",
            "Which city did I say I live in?",
            "Where's home for me?",
            "Sorry, where do I live again?",
            "Where did I tell you I'm living?",
            "Can you remind me where I live?",
            "Where did I say home is?",
            "Do you recall my city?",
            "What's the name of the city I live in?",
            "Before we go on: where am I living these days?",
        ),
        "changes": (
            "I relocated last week, I'm living in {value} now.",
            "We just moved to {value}.",
            "Home is {value} now, after the move.",
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
            "I've got a job as {article} {value}.",
            "At the moment I work as {article} {value}.",
            "I'm {article} {value}; it keeps me busy.",
            "Work-wise, I'm {article} {value}.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} is what I do for a living.",
            "{value}: that's my line of work.",
        ),
        "questions": (
            "What do I do for work?",
            "What's my job?",
            "Tell me what my job is.",
            "What did I say I work as?",
            "Remind me of my occupation.",
            "How do I earn my living?",
            "Can you remind me what I do for work?",
            "What job did I tell you I have?",
            "Quick one: remind me what I do for a job.",
            "What's my occupation, do you remember?",
            "What do I do at work all day?",
        ),
        "changes": (
            "I've switched jobs and I'm {article} {value} now.",
            "After a career change I'm {article} {value}.",
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
            "I'm on the payroll at {value}.",
            "My current employer? {value}.",
            "I spend my working days at {value}.",
            "Work for me means {value}.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} is where I work.",
            "{value} pays my salary.",
        ),
        "questions": (
            "What's the name of my employer?",
            "Where am I employed?",
            "Tell me which company employs me.",
            "What company did I say I work at?",
            "Can you remind me where I'm working?",
            "Which organisation did I say I work at?",
            "What's the place I work at called?",
            "Where did I tell you I'm employed?",
        ),
        "changes": (
            "I left my old job and joined {value}.",
            "Starting this month I work at {value}.",
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
            "There's a {species} in my life called {value}.",
            "Our family {species} answers to {value}.",
            "I just took my {species} {value} to the vet.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} the {species} is asleep on my lap.",
            "{value}, my {species}, needs a walk.",
        ),
        "questions": (
            "Do you know my {species}'s name?",
            "Tell me my {species}'s name.",
            "Remind me, what's my {species}'s name?",
            "What's the name of my {species} again?",
            "Can you tell me what my {species} is called?",
            "My {species}: what's its name?",
        ),
    },
    "sibling": {
        "statements": (
            "The name of my {relation} is {value}.",
            "I talked to my {relation} {value} today.",
            "My only {relation} is {value}.",
            "I grew up with my {relation}, {value}.",
            "My {relation} goes by {value}.",
            "My {relation}, {value}, lives nearby.",
            "I was on the phone with my {relation} {value} all evening.",
            "{value}, my {relation}, says hi.",
        ),
        "questions": (
            "Do you know my {relation}'s name?",
            "What is the name of my {relation}?",
            "Tell me my {relation}'s name.",
            "Remind me what my {relation} is called.",
            "Do you recall my {relation}'s name?",
            "My {relation}: what's their name?",
            "Which name does my {relation} go by?",
        ),
    },
    "sibling_city": {
        "statements": (
            "My {relation} moved to {value} and lives there now.",
            "I visit my {relation} in {value} sometimes.",
            "My {relation} calls {value} home.",
            "My {relation} is living in {value} these days.",
            "My {relation} has lived in {value} since university.",
            "My {relation} is over in {value} now.",
            "My {relation} works and lives in {value}.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} is home to my {relation}.",
            "{value}, that's where my {relation} lives.",
        ),
        "questions": (
            "Which city does my {relation} live in?",
            "Where's my {relation}'s home?",
            "Tell me where my {relation} lives.",
            "Do you know where my {relation} lives?",
            "In which city is my {relation}?",
            "Can you remind me where my {relation} lives?",
            "Where did I say my {relation} lives?",
            "What's the city my {relation} lives in?",
        ),
    },
    "food": {
        "statements": (
            "My favourite thing to eat is {value}.",
            "If I could eat one food forever, it would be {value}.",
            "I'm a big fan of {value}, it's my favourite food.",
            "Food-wise, {value} is my favourite.",
            "Best food in the world? {value}.",
            "I never get tired of {value}.",
            "Give me {value} any day, it's my favourite.",
            "My go-to meal is {value}.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value}, every time: it's the food I love most.",
            "{value} is what I'd eat every day.",
        ),
        "questions": (
            "What's my favourite food?",
            "Tell me my favourite food.",
            "What do I love to eat most?",
            "Which food is my favourite?",
            "Can you remind me of my favourite food?",
            "What did I say my favourite food was?",
            "What food did I tell you I like?",
        ),
    },
    "colour": {
        "statements": (
            "If you ask me, {value} is the best colour.",
            "Colour-wise, I prefer {value}.",
            "My favourite shade is {value}.",
            "I'd paint everything {value} if I could, it's my favourite colour.",
            "Favourite colour: {value}.",
            "Anything in {value} makes me happy, it's my colour.",
            "My wardrobe is mostly {value}, my favourite colour.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} is the colour I'd pick every time.",
            "{value}, always: no colour beats it.",
        ),
        "questions": (
            "Tell me my favourite colour.",
            "What colour do I prefer?",
            "Which colour is my favourite?",
            "What's the colour I like?",
            "Can you tell me which colour I said I like?",
            "What colour did I say was my favourite?",
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
            "Most evenings I'm busy with {value}.",
            "A big part of my free time goes to {value}.",
            "I'm passionate about {value}.",
            "Whenever I get a free hour, it's {value} for me.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} fills my free time.",
            "{value} keeps me busy in the evenings.",
        ),
        "questions": (
            "What's my hobby?",
            "What do I do for fun?",
            "What do I like doing in my free time?",
            "Tell me what my hobby is.",
            "How do I spend my spare time?",
            "Can you remind me what my hobby is?",
            "What did I say I do in my free time?",
            "Which hobby did I tell you about?",
            "What do I do when I'm not working?",
        ),
        "changes": (
            "My new hobby is {value}.",
            "I've swapped my old hobby for {value}.",
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
            "Just so you know, I'm {value} years old.",
            "I'm {value} this year.",
            # the value before the words that say what it is: only the message's whole turn tells its kind (session 37)
            "{value} years old, that's me.",
            "{value} is how old I am.",
        ),
        "questions": (
            "Tell me my age.",
            "Do you know how old I am?",
            "What age did I tell you I am?",
            "Can you tell me how old I am?",
            "How old am I, do you remember?",
        ),
    },
}
