"""General text for the benchmark's "do no harm" checks, each with disjoint train / val / test splits.

- `general_questions`: general-knowledge questions with short, unambiguous answers (capitals, chemical
  symbols, small sums, opposites, animal facts...), built from tables. A memory must not make the frozen
  model forget these; the benchmark keeps the test questions the bare model answers right.
- `general_prompts`: open-ended requests with replies of a few sentences, to measure how memory changes
  long replies.
- `unrelated_messages`: ordinary things users say that state no personal fact (no names, places, jobs,
  pets, family, favourites, ages); they fill conversations between a fact and its question.

Splits come from `seam.tasks.values.split_of` (a stable BLAKE2b hash). Questions are split by their table
row's key, not their text, so one fact asked two ways ("What is the capital of France?", "Which city is
the capital of France?") is never in two splits.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from .values import SPLITS, split_of

QUESTION_SHARES = (0.3, 0.1, 0.6)
"""Train, val and test shares of question rows: test is the largest, as the benchmark keeps only the
questions the bare model answers right."""
PROMPT_SHARES = (0.4, 0.1, 0.5)
MESSAGE_SHARES = (0.42, 0.16, 0.42)

Question = tuple[str, tuple[str, ...]]

# ----------------------------------------------------------------------------------------------------
# Numbers in digits and words.

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> tuple[str, ...]:
    """Accepted spellings of 0 <= n < 1,000,000: "forty-four" and "forty four"; "one hundred and five" and
    "one hundred five"; "a hundred" and "a thousand" for 100 and 1000."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number_words spells 0 to 999999, got {n}.")
    if n < 20:
        return (_UNITS[n],)
    if n < 100:
        tens, unit = divmod(n, 10)
        return (_TENS[tens],) if unit == 0 else (f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}")
    size, word = (100, "hundred") if n < 1000 else (1000, "thousand")
    count, rest = divmod(n, size)
    heads = [f"{count_word} {word}" for count_word in number_words(count)] + ([f"a {word}"] if count == 1 else [])
    if rest == 0:
        return tuple(heads)
    joiners = (" and ", " ") if rest < 100 else (" ",)
    return tuple(f"{head}{joiner}{tail}" for head in heads[:1] for joiner in joiners for tail in number_words(rest))


def numeric(n: int) -> tuple[str, ...]:
    """Accepted answers for a number: digits (also with a thousands comma) and words."""
    digits = (str(n), f"{n:,}") if n >= 1000 else (str(n),)
    return (*digits, *number_words(n))


def _alternatives(text: str) -> tuple[str, ...]:
    """"Bern|Berne" -> ("Bern", "Berne"): tables write accepted alternatives separated by '|'."""
    return tuple(text.split("|")) if text else ()


# ----------------------------------------------------------------------------------------------------
# Tables. Alternatives are separated by '|'; a country's first form is how a sentence names it.

COUNTRIES = (
    # (country, capital, continent, main language); "" where a question would be ambiguous.
    ("France", "Paris", "Europe", "French"),
    ("Germany", "Berlin", "Europe", "German"),
    ("Italy", "Rome", "Europe", "Italian"),
    ("Spain", "Madrid", "Europe", "Spanish"),
    ("Portugal", "Lisbon", "Europe", "Portuguese"),
    ("the United Kingdom|United Kingdom|UK|Britain|Great Britain|England", "London", "Europe", "English"),
    ("Ireland", "Dublin", "Europe", "English|Irish"),
    ("the Netherlands|Netherlands|Holland", "Amsterdam", "Europe", "Dutch"),
    ("Belgium", "Brussels", "Europe", ""),
    ("Switzerland", "Bern|Berne", "Europe", ""),
    ("Austria", "Vienna", "Europe", "German"),
    ("Poland", "Warsaw", "Europe", "Polish"),
    ("the Czech Republic|Czech Republic|Czechia", "Prague", "Europe", "Czech"),
    ("Slovakia", "Bratislava", "Europe", "Slovak"),
    ("Hungary", "Budapest", "Europe", "Hungarian"),
    ("Romania", "Bucharest", "Europe", "Romanian"),
    ("Bulgaria", "Sofia", "Europe", "Bulgarian"),
    ("Greece", "Athens", "Europe", "Greek"),
    ("Sweden", "Stockholm", "Europe", "Swedish"),
    ("Norway", "Oslo", "Europe", "Norwegian"),
    ("Denmark", "Copenhagen", "Europe", "Danish"),
    ("Finland", "Helsinki", "Europe", "Finnish"),
    ("Iceland", "Reykjavik|Reykjavík", "Europe", "Icelandic"),
    ("Estonia", "Tallinn", "Europe", "Estonian"),
    ("Latvia", "Riga", "Europe", "Latvian"),
    ("Lithuania", "Vilnius", "Europe", "Lithuanian"),
    ("Ukraine", "Kyiv|Kiev", "Europe", "Ukrainian"),
    ("Belarus", "Minsk", "Europe", ""),
    ("Russia", "Moscow", "Europe|Asia", "Russian"),
    ("Serbia", "Belgrade", "Europe", "Serbian"),
    ("Croatia", "Zagreb", "Europe", "Croatian"),
    ("Slovenia", "Ljubljana", "Europe", "Slovenian|Slovene"),
    ("Bosnia and Herzegovina|Bosnia", "Sarajevo", "Europe", ""),
    ("Montenegro", "Podgorica", "Europe", ""),
    ("Albania", "Tirana", "Europe", "Albanian"),
    ("North Macedonia|Macedonia", "Skopje", "Europe", "Macedonian"),
    ("Moldova", "Chisinau|Chișinău", "Europe", ""),
    ("Malta", "Valletta", "Europe", ""),
    ("Turkey|Türkiye", "Ankara", "Asia|Europe", "Turkish"),
    ("Armenia", "Yerevan", "Asia", "Armenian"),
    ("Azerbaijan", "Baku", "Asia", "Azerbaijani"),
    ("Japan", "Tokyo", "Asia", "Japanese"),
    ("China", "Beijing", "Asia", "Chinese|Mandarin"),
    ("South Korea", "Seoul", "Asia", "Korean"),
    ("North Korea", "Pyongyang", "Asia", "Korean"),
    ("India", "New Delhi|Delhi", "Asia", ""),
    ("Pakistan", "Islamabad", "Asia", "Urdu"),
    ("Bangladesh", "Dhaka", "Asia", "Bengali|Bangla"),
    ("Nepal", "Kathmandu", "Asia", "Nepali"),
    ("Bhutan", "Thimphu", "Asia", ""),
    ("Afghanistan", "Kabul", "Asia", ""),
    ("Iran", "Tehran", "Asia", "Persian|Farsi"),
    ("Iraq", "Baghdad", "Asia", "Arabic"),
    ("Syria", "Damascus", "Asia", "Arabic"),
    ("Lebanon", "Beirut", "Asia", "Arabic"),
    ("Jordan", "Amman", "Asia", "Arabic"),
    ("Saudi Arabia", "Riyadh", "Asia", "Arabic"),
    ("Oman", "Muscat", "Asia", "Arabic"),
    ("the United Arab Emirates|United Arab Emirates|UAE", "Abu Dhabi", "Asia", "Arabic"),
    ("Qatar", "Doha", "Asia", "Arabic"),
    ("Kuwait", "Kuwait City", "Asia", "Arabic"),
    ("Bahrain", "Manama", "Asia", "Arabic"),
    ("Yemen", "Sanaa|Sana'a", "Asia", "Arabic"),
    ("Thailand", "Bangkok", "Asia", "Thai"),
    ("Vietnam", "Hanoi", "Asia", "Vietnamese"),
    ("Cambodia", "Phnom Penh", "Asia", "Khmer"),
    ("Laos", "Vientiane", "Asia", "Lao"),
    ("Myanmar", "Naypyidaw|Naypyitaw|Nay Pyi Taw", "Asia", "Burmese"),
    ("Malaysia", "Kuala Lumpur", "Asia", "Malay"),
    ("Indonesia", "Jakarta", "Asia", "Indonesian"),
    ("the Philippines|Philippines", "Manila", "Asia", "Filipino|Tagalog|English"),
    ("Mongolia", "Ulaanbaatar|Ulan Bator", "Asia", "Mongolian"),
    ("Kazakhstan", "Astana", "Asia", ""),
    ("Uzbekistan", "Tashkent", "Asia", "Uzbek"),
    ("Kyrgyzstan", "Bishkek", "Asia", ""),
    ("Tajikistan", "Dushanbe", "Asia", "Tajik"),
    ("Turkmenistan", "Ashgabat", "Asia", "Turkmen"),
    ("Egypt", "Cairo", "Africa", "Arabic"),
    ("Morocco", "Rabat", "Africa", "Arabic"),
    ("Algeria", "Algiers", "Africa", "Arabic"),
    ("Tunisia", "Tunis", "Africa", "Arabic"),
    ("Libya", "Tripoli", "Africa", "Arabic"),
    ("Sudan", "Khartoum", "Africa", "Arabic"),
    ("Ethiopia", "Addis Ababa", "Africa", "Amharic"),
    ("Kenya", "Nairobi", "Africa", "Swahili|English"),
    ("Uganda", "Kampala", "Africa", ""),
    ("Tanzania", "Dodoma", "Africa", "Swahili"),
    ("Rwanda", "Kigali", "Africa", ""),
    ("Nigeria", "Abuja", "Africa", "English"),
    ("Ghana", "Accra", "Africa", "English"),
    ("Senegal", "Dakar", "Africa", "French"),
    ("Mali", "Bamako", "Africa", ""),
    ("Niger", "Niamey", "Africa", ""),
    ("Chad", "N'Djamena|Ndjamena", "Africa", ""),
    ("Cameroon", "Yaoundé|Yaounde", "Africa", ""),
    ("the Democratic Republic of the Congo|Democratic Republic of the Congo|DR Congo|Congo", "Kinshasa", "Africa", "French"),
    ("Angola", "Luanda", "Africa", "Portuguese"),
    ("Zambia", "Lusaka", "Africa", "English"),
    ("Zimbabwe", "Harare", "Africa", ""),
    ("Mozambique", "Maputo", "Africa", "Portuguese"),
    ("Botswana", "Gaborone", "Africa", ""),
    ("Namibia", "Windhoek", "Africa", ""),
    ("Madagascar", "Antananarivo", "Africa", ""),
    ("Somalia", "Mogadishu", "Africa", "Somali"),
    ("Eritrea", "Asmara", "Africa", ""),
    ("Sierra Leone", "Freetown", "Africa", "English"),
    ("Liberia", "Monrovia", "Africa", "English"),
    ("Guinea", "Conakry", "Africa", "French"),
    ("Burkina Faso", "Ouagadougou", "Africa", "French"),
    ("Togo", "Lomé|Lome", "Africa", "French"),
    ("Gabon", "Libreville", "Africa", "French"),
    ("Malawi", "Lilongwe", "Africa", ""),
    ("Mauritania", "Nouakchott", "Africa", "Arabic"),
    ("Mauritius", "Port Louis", "Africa", ""),
    ("the Gambia|Gambia", "Banjul", "Africa", "English"),
    ("South Sudan", "Juba", "Africa", "English"),
    ("Lesotho", "Maseru", "Africa", ""),
    ("the United States|United States|USA|US|America", "Washington|Washington, D.C.", "North America", "English"),
    ("Canada", "Ottawa", "North America", ""),
    ("Mexico", "Mexico City", "North America", "Spanish"),
    ("Cuba", "Havana", "North America|Caribbean", "Spanish"),
    ("Jamaica", "Kingston", "North America|Caribbean", "English"),
    ("Haiti", "Port-au-Prince", "North America|Caribbean", ""),
    ("the Dominican Republic|Dominican Republic", "Santo Domingo", "North America|Caribbean", "Spanish"),
    ("Guatemala", "Guatemala City", "North America|Central America", "Spanish"),
    ("Honduras", "Tegucigalpa", "North America|Central America", "Spanish"),
    ("El Salvador", "San Salvador", "North America|Central America", "Spanish"),
    ("Nicaragua", "Managua", "North America|Central America", "Spanish"),
    ("Costa Rica", "San José|San Jose", "North America|Central America", "Spanish"),
    ("Panama", "Panama City", "North America|Central America", "Spanish"),
    ("the Bahamas|Bahamas", "Nassau", "North America|Caribbean", "English"),
    ("Trinidad and Tobago", "Port of Spain", "North America|Caribbean|South America", "English"),
    ("Barbados", "Bridgetown", "North America|Caribbean", "English"),
    ("Colombia", "Bogotá|Bogota", "South America", "Spanish"),
    ("Venezuela", "Caracas", "South America", "Spanish"),
    ("Ecuador", "Quito", "South America", "Spanish"),
    ("Peru", "Lima", "South America", "Spanish"),
    ("Bolivia", "Sucre|La Paz", "South America", "Spanish"),
    ("Chile", "Santiago", "South America", "Spanish"),
    ("Argentina", "Buenos Aires", "South America", "Spanish"),
    ("Uruguay", "Montevideo", "South America", "Spanish"),
    ("Paraguay", "Asunción|Asuncion", "South America", "Spanish|Guarani"),
    ("Brazil", "Brasília|Brasilia", "South America", "Portuguese"),
    ("Guyana", "Georgetown", "South America", "English"),
    ("Suriname", "Paramaribo", "South America", "Dutch"),
    ("Australia", "Canberra", "Oceania|Australia", "English"),
    ("New Zealand", "Wellington", "Oceania|Australia", "English"),
    ("Fiji", "Suva", "Oceania", ""),
    ("Papua New Guinea", "Port Moresby", "Oceania", ""),
    ("Samoa", "Apia", "Oceania", "Samoan"),
)

ELEMENTS = (
    # (element, symbol)
    ("hydrogen", "H"), ("helium", "He"), ("lithium", "Li"), ("beryllium", "Be"), ("boron", "B"), ("carbon", "C"),
    ("nitrogen", "N"), ("oxygen", "O"), ("fluorine", "F"), ("neon", "Ne"), ("sodium", "Na"), ("magnesium", "Mg"),
    ("aluminium|aluminum", "Al"), ("silicon", "Si"), ("phosphorus", "P"), ("sulfur|sulphur", "S"),
    ("chlorine", "Cl"), ("argon", "Ar"), ("potassium", "K"), ("calcium", "Ca"), ("titanium", "Ti"),
    ("chromium", "Cr"), ("manganese", "Mn"), ("iron", "Fe"), ("cobalt", "Co"), ("nickel", "Ni"), ("copper", "Cu"),
    ("zinc", "Zn"), ("arsenic", "As"), ("bromine", "Br"), ("krypton", "Kr"), ("silver", "Ag"), ("tin", "Sn"),
    ("iodine", "I"), ("xenon", "Xe"), ("tungsten", "W"), ("platinum", "Pt"), ("gold", "Au"), ("mercury", "Hg"),
    ("lead", "Pb"), ("radon", "Rn"), ("uranium", "U"),
)
AMBIGUOUS_SYMBOLS = ("I",)
"""Symbols not asked for ("The symbol for iodine is I" cannot be told from any reply containing "I")."""

COMPOUNDS = (
    # (compound, formula)
    ("water", "H2O"), ("carbon dioxide", "CO2"), ("table salt|salt|sodium chloride", "NaCl"), ("methane", "CH4"),
    ("ammonia", "NH3"),
)

OPPOSITES = (
    # (word, its opposites); pairs listed both ways share a row, hence a split.
    ("hot", "cold"), ("cold", "hot"), ("big", "small|little"), ("small", "big|large"), ("up", "down"),
    ("down", "up"), ("day", "night"), ("night", "day"), ("black", "white"), ("white", "black"),
    ("open", "closed|shut"), ("fast", "slow"), ("slow", "fast|quick"), ("happy", "sad|unhappy"), ("sad", "happy"),
    ("tall", "short"), ("wet", "dry"), ("dry", "wet"), ("full", "empty"), ("empty", "full"), ("early", "late"),
    ("late", "early"), ("push", "pull"), ("pull", "push"), ("win", "lose"), ("love", "hate"), ("rich", "poor"),
    ("poor", "rich"), ("strong", "weak"), ("weak", "strong"), ("thick", "thin"), ("high", "low"), ("low", "high"),
    ("in", "out"), ("on", "off"), ("yes", "no"), ("true", "false"), ("false", "true"), ("good", "bad|evil"),
    ("bad", "good"), ("first", "last"), ("buy", "sell"), ("sell", "buy"), ("friend", "enemy|foe"),
    ("question", "answer"), ("summer", "winter"), ("winter", "summer"), ("north", "south"), ("south", "north"),
    ("east", "west"), ("west", "east"), ("top", "bottom"), ("front", "back|rear"), ("inside", "outside"),
    ("outside", "inside"), ("above", "below|beneath|under"), ("before", "after"), ("after", "before"),
    ("always", "never"), ("never", "always"), ("clean", "dirty"), ("dirty", "clean"), ("cheap", "expensive|dear"),
    ("expensive", "cheap|inexpensive"), ("awake", "asleep"), ("alive", "dead"), ("dead", "alive|living"),
    ("remember", "forget"), ("forget", "remember"), ("increase", "decrease"), ("near", "far"), ("far", "near|close"),
    ("sweet", "sour|bitter|savoury|savory"), ("smooth", "rough"), ("wide", "narrow"), ("deep", "shallow"),
    ("polite", "rude|impolite"), ("laugh", "cry"), ("safe", "dangerous|unsafe"), ("entrance", "exit"),
    ("import", "export"), ("heavy", "light"), ("loud", "quiet|soft"), ("quiet", "loud|noisy"), ("young", "old"),
    ("new", "old"), ("arrive", "leave|depart"), ("give", "take|receive"), ("begin", "end|finish"),
    ("beginning", "end|ending"), ("start", "finish|end|stop"), ("correct", "incorrect|wrong"), ("left", "right"),
    ("light", "dark|heavy"), ("dark", "light|bright"), ("hard", "soft|easy"), ("soft", "hard"),
    ("easy", "hard|difficult"), ("difficult", "easy"), ("long", "short"), ("short", "long|tall"),
    ("old", "young|new"), ("less", "more"), ("more", "less|fewer"), ("maximum", "minimum"), ("minimum", "maximum"),
    ("brave", "cowardly|scared|afraid|fearful"), ("sharp", "blunt|dull"), ("accept", "reject|refuse|decline"),
)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

COLOURS_OF_THINGS = (
    # (question, colours)
    ("What colour is grass?", "green"), ("What colour is the sky on a clear day?", "blue"),
    ("What colour is snow?", "white"), ("What colour is coal?", "black"), ("What colour is a ripe banana?", "yellow"),
    ("What colour is a ripe tomato?", "red"), ("What colour are strawberries?", "red"),
    ("What colour is a carrot?", "orange"), ("What colour is a lemon?", "yellow"), ("What colour is milk?", "white"),
    ("What colour is blood?", "red"), ("What colour is an emerald?", "green"), ("What colour is a ruby?", "red"),
    ("What colour is a sapphire?", "blue"), ("What colour is milk chocolate?", "brown"),
    ("What colour is a pumpkin?", "orange"), ("What colour is a lime?", "green"),
    ("What colour is a flamingo?", "pink"), ("What colour is a crow?", "black"),
    ("What colour is a fire engine?", "red"), ("What colour is a polar bear's fur?", "white"),
    ("What colour is a cucumber?", "green"), ("What colour is an aubergine?", "purple"),
    ("What colour is a stop sign?", "red"), ("What colour is a canary?", "yellow"),
    ("What colour is an elephant?", "grey|gray"), ("What colour are peas?", "green"),
    ("What colour is the inside of a kiwi fruit?", "green"), ("What colour are most clouds?", "white|grey|gray"),
    ("What colour do you get when you mix blue and yellow?", "green"),
    ("What colour do you get when you mix red and white?", "pink"),
    ("What colour do you get when you mix red and yellow?", "orange"),
    ("What colour do you get when you mix red and blue?", "purple|violet"),
    ("What colour do you get when you mix black and white?", "grey|gray"),
    ("What colour are the leaves of most trees in summer?", "green"),
    ("What are the three primary colours of paint?", "red, yellow and blue|red, blue and yellow|red, yellow, and blue"),
)

ANIMAL_LEGS = (
    ("a spider", 8), ("an insect", 6), ("an ant", 6), ("a bee", 6), ("a beetle", 6), ("a dog", 4), ("a cat", 4),
    ("a horse", 4), ("a cow", 4), ("an elephant", 4), ("a lion", 4), ("a frog", 4), ("a chicken", 2), ("a duck", 2),
    ("a bird", 2), ("an ostrich", 2), ("a person", 2), ("a penguin", 2),
)
ANIMAL_SOUNDS = (
    ("cow", "moo"), ("dog", "bark|woof"), ("cat", "meow|miaow|purr"), ("duck", "quack"), ("sheep", "baa|bleat"),
    ("pig", "oink|grunt"), ("horse", "neigh|whinny"), ("lion", "roar"), ("owl", "hoot|twit-twoo|hoo"),
    ("snake", "hiss"), ("rooster", "cock-a-doodle-doo|crow"), ("bee", "buzz"), ("frog", "croak|ribbit"),
    ("mouse", "squeak"), ("donkey", "hee-haw|bray"), ("wolf", "howl"), ("chicken", "cluck"), ("goat", "bleat|baa"),
    ("elephant", "trumpet"), ("turkey", "gobble"),
)
ANIMAL_YOUNG = (
    ("dog", "puppy|pup"), ("cat", "kitten"), ("cow", "calf"), ("horse", "foal|colt|filly"), ("sheep", "lamb"),
    ("pig", "piglet"), ("frog", "tadpole|froglet"), ("kangaroo", "joey"), ("bear", "cub"), ("lion", "cub"),
    ("goat", "kid"), ("duck", "duckling"), ("goose", "gosling"), ("swan", "cygnet"), ("chicken", "chick"),
    ("deer", "fawn"), ("owl", "owlet"), ("whale", "calf"), ("elephant", "calf"), ("fox", "cub|kit"),
    ("rabbit", "kit|kitten|bunny"), ("butterfly", "caterpillar|larva"), ("eagle", "eaglet"), ("seal", "pup"),
)
ANIMAL_GROUPS = (
    ("wolves", "pack"), ("fish", "school|shoal"), ("lions", "pride"), ("cows", "herd"), ("birds", "flock"),
    ("bees", "swarm|hive|colony"), ("sheep", "flock"), ("ants", "colony"), ("geese", "gaggle"), ("crows", "murder"),
)

FACTS = (
    # (question, answers): one fact per row.
    ("Who wrote Romeo and Juliet?", "Shakespeare"), ("Who wrote Hamlet?", "Shakespeare"),
    ("Who wrote Macbeth?", "Shakespeare"), ("Who wrote Pride and Prejudice?", "Austen"),
    ("Who wrote the Harry Potter books?", "Rowling"), ("Who wrote the novel 1984?", "Orwell"),
    ("Who wrote Animal Farm?", "Orwell"), ("Who wrote the Odyssey?", "Homer"),
    ("Who wrote Don Quixote?", "Cervantes"), ("Who wrote War and Peace?", "Tolstoy"),
    ("Who wrote Crime and Punishment?", "Dostoevsky|Dostoyevsky"), ("Who wrote A Christmas Carol?", "Dickens"),
    ("Who wrote Oliver Twist?", "Dickens"), ("Who wrote Great Expectations?", "Dickens"),
    ("Who wrote Moby-Dick?", "Melville"), ("Who wrote The Adventures of Tom Sawyer?", "Mark Twain|Twain"),
    ("Who wrote The Hobbit?", "Tolkien"), ("Who wrote The Lord of the Rings?", "Tolkien"),
    ("Who wrote Frankenstein?", "Mary Shelley|Shelley"), ("Who wrote Dracula?", "Stoker"),
    ("Who wrote The Great Gatsby?", "Fitzgerald"), ("Who wrote To Kill a Mockingbird?", "Harper Lee"),
    ("Who created Sherlock Holmes?", "Conan Doyle|Doyle"), ("Who wrote The Divine Comedy?", "Dante"),
    ("Who wrote Les Misérables?", "Victor Hugo|Hugo"), ("Who wrote The Little Prince?", "Saint-Exupéry|Saint-Exupery|Exupéry"),
    ("Who wrote The Cat in the Hat?", "Dr. Seuss|Seuss"), ("Who wrote Jane Eyre?", "Charlotte Brontë|Charlotte Bronte|Brontë|Bronte"),
    ("Who wrote Wuthering Heights?", "Emily Brontë|Emily Bronte|Brontë|Bronte"), ("Who wrote Of Mice and Men?", "Steinbeck"),
    ("Who wrote The Old Man and the Sea?", "Hemingway"), ("Who wrote On the Origin of Species?", "Darwin"),
    ("Who painted the Mona Lisa?", "Leonardo|da Vinci|Da Vinci"), ("Who painted The Starry Night?", "van Gogh|Van Gogh"),
    ("Who painted Sunflowers, the famous series of still lifes?", "van Gogh|Van Gogh"),
    ("Who painted The Last Supper?", "Leonardo|da Vinci|Da Vinci"), ("Who painted The Scream?", "Munch"),
    ("Who painted Guernica?", "Picasso"), ("Who painted Girl with a Pearl Earring?", "Vermeer"),
    ("Who painted The Persistence of Memory?", "Dalí|Dali"), ("Who painted the Water Lilies series?", "Monet"),
    ("Who painted The Birth of Venus?", "Botticelli"), ("Who painted the ceiling of the Sistine Chapel?", "Michelangelo"),
    ("Who painted The Night Watch?", "Rembrandt"), ("Who composed the Moonlight Sonata?", "Beethoven"),
    ("Who composed The Magic Flute?", "Mozart"), ("Who composed The Four Seasons?", "Vivaldi"),
    ("Who composed the music for The Nutcracker ballet?", "Tchaikovsky"), ("Who composed Swan Lake?", "Tchaikovsky"),
    ("Who discovered penicillin?", "Fleming"), ("Who developed the theory of relativity?", "Einstein"),
    ("Who proposed the theory of evolution by natural selection?", "Darwin"),
    ("Who is credited with inventing the telephone?", "Bell"), ("Who formulated the laws of motion and gravity?", "Newton"),
    ("Who was the first person to walk on the Moon?", "Armstrong"),
    ("Who was the first President of the United States?", "Washington"),
    ("Which planet is closest to the Sun?", "Mercury"), ("What is the largest planet in our solar system?", "Jupiter"),
    ("Which planet is known as the Red Planet?", "Mars"), ("Which planet is famous for its rings?", "Saturn"),
    ("Which planet do we live on?", "Earth"), ("What is the hottest planet in our solar system?", "Venus"),
    ("Which planet is farthest from the Sun?", "Neptune"), ("Which planet is third from the Sun?", "Earth"),
    ("Which planet is second from the Sun?", "Venus"), ("Which planet is fourth from the Sun?", "Mars"),
    ("Which planet is fifth from the Sun?", "Jupiter"), ("Which planet is sixth from the Sun?", "Saturn"),
    ("Which planet is seventh from the Sun?", "Uranus"), ("Which planet is eighth from the Sun?", "Neptune"),
    ("What is the name of our galaxy?", "Milky Way"), ("What is the closest star to Earth?", "Sun"),
    ("What is the natural satellite of Earth called?", "Moon"), ("Which planet rotates on its side?", "Uranus"),
    ("What gas do plants take in from the air?", "carbon dioxide|CO2"), ("What gas do people need to breathe?", "oxygen"),
    ("What is the hardest natural substance?", "diamond"), ("What is the largest ocean on Earth?", "Pacific"),
    ("What is the largest continent?", "Asia"), ("What is the longest river in the world?", "Nile|Amazon"),
    ("What is the tallest mountain in the world?", "Everest"), ("What is the largest hot desert in the world?", "Sahara"),
    ("Which organ pumps blood around the body?", "heart"), ("Which organ do we think with?", "brain"),
    ("What is the largest organ of the human body?", "skin"), ("What is frozen water called?", "ice"),
    ("What force pulls objects towards the ground?", "gravity"), ("What is the centre of an atom called?", "nucleus"),
    ("What is the most common gas in Earth's atmosphere?", "nitrogen"),
    ("What do plants need from the Sun to make food?", "light|sunlight"), ("What do bees make?", "honey"),
    ("What do caterpillars turn into?", "butterflies|butterfly|moths|moth"),
    ("What is the largest animal in the world?", "blue whale"), ("What is the fastest land animal?", "cheetah"),
    ("What is the tallest animal in the world?", "giraffe"), ("Which animal is known as the king of the jungle?", "lion"),
    ("Which animal has a trunk?", "elephant"), ("Which flightless bird lives in Antarctica?", "penguin"),
    ("Which animal is known for changing its colour to blend in?", "chameleon|octopus"),
    ("What is a spider's home called?", "web"), ("Where do bees live?", "hive|beehive"),
    ("What is the currency of Japan?", "yen"), ("What is the currency of the United Kingdom?", "pound|sterling"),
    ("What is the currency of the United States?", "dollar"), ("What is the currency of most of the European Union?", "euro"),
    ("What is the currency of India?", "rupee"), ("What is the currency of Mexico?", "peso"),
    ("What is the currency of Switzerland?", "franc"), ("What is the currency of South Korea?", "won"),
    ("What is the currency of Russia?", "rouble|ruble"), ("What is the currency of China?", "yuan|renminbi"),
    ("What is the first month of the year?", "January"), ("What is the last month of the year?", "December"),
    ("In which month is Christmas Day?", "December"), ("Which month has the fewest days?", "February"),
    ("What season comes after summer?", "autumn|fall"), ("What season comes after winter?", "spring"),
    ("What season comes after spring?", "summer"), ("What season comes after autumn?", "winter"),
    ("Which holiday is celebrated on 25 December?", "Christmas"), ("Which holiday is celebrated on 31 October?", "Halloween"),
    ("What is the largest country in the world by area?", "Russia"), ("What is the smallest country in the world?", "Vatican"),
    ("Which ocean lies between Europe and North America?", "Atlantic"), ("On which continent is the Sahara desert?", "Africa"),
    ("Which country is shaped like a boot?", "Italy"), ("In which city is the Eiffel Tower?", "Paris"),
    ("In which city is Big Ben?", "London"), ("In which city is the Statue of Liberty?", "New York"),
    ("In which city is the Colosseum?", "Rome"), ("In which country are the pyramids of Giza?", "Egypt"),
    ("In which country is the Taj Mahal?", "India"), ("In which country is the Great Wall?", "China"),
    ("In which city is the Sydney Opera House?", "Sydney"), ("What is the capital of Scotland?", "Edinburgh"),
    ("What is the capital of Wales?", "Cardiff"), ("What is the capital of Northern Ireland?", "Belfast"),
    ("Which fruit is used to make wine?", "grape|grapes"), ("What is the main ingredient of guacamole?", "avocado"),
    ("Which vegetable can make you cry when you cut it?", "onion"), ("What is tofu made from?", "soy|soya|soybeans|soybean"),
    ("What is the main ingredient of bread?", "flour|wheat"), ("Which nut is marzipan made from?", "almond|almonds"),
    ("What is a dried grape called?", "raisin"), ("What is a dried plum called?", "prune"),
    ("What do you call a shape with three sides?", "triangle"),
    ("What do you call a shape with four equal sides and four right angles?", "square"),
    ("What do you call a shape with eight sides?", "octagon"), ("What do you call a shape with six sides?", "hexagon"),
    ("What do you call a shape with five sides?", "pentagon"),
    ("In which sport do you score a touchdown?", "American football|football"), ("In which sport is a shuttlecock used?", "badminton"),
    ("In which sport do you hit a home run?", "baseball"), ("In which sport is a puck used?", "hockey|ice hockey"),
    ("In tennis, what is a score of zero called?", "love"), ("Which game is played with a king, a queen, bishops and pawns?", "chess"),
    ("What is the boiling point of water in degrees Celsius?", "100|one hundred|a hundred"),
    ("What is the freezing point of water in degrees Celsius?", "0|zero"),
    ("What is the freezing point of water in degrees Fahrenheit?", "32|thirty-two|thirty two"),
    ("What instrument has black and white keys?", "piano"), ("What do you call a person who fixes teeth?", "dentist"),
    ("What do you call a doctor who treats animals?", "vet|veterinarian|veterinary surgeon"),
    ("What is the opposite of north-east?", "south-west|southwest"), ("What is the square root of 81?", "9|nine"),
    ("What is the square root of 144?", "12|twelve"), ("What is half of 100?", "50|fifty"),
    ("What is a quarter of 100?", "25|twenty-five|twenty five"), ("What is 10 squared?", "100|one hundred|a hundred"),
    ("What is the Roman numeral for 10?", "X"), ("What is the Roman numeral for 5?", "V"),
    ("What is the Roman numeral for 50?", "L"), ("What is the Roman numeral for 100?", "C"),
)

NUMBER_FACTS = (
    # (question, number)
    ("How many minutes are in an hour?", 60), ("How many seconds are in a minute?", 60), ("How many hours are in a day?", 24),
    ("How many days are in a week?", 7), ("How many months are in a year?", 12), ("How many days are in a normal year?", 365),
    ("How many days are in a leap year?", 366), ("How many weeks are in a year?", 52),
    ("How many centimetres are in a metre?", 100), ("How many metres are in a kilometre?", 1000),
    ("How many grams are in a kilogram?", 1000), ("How many millimetres are in a centimetre?", 10),
    ("How many years are in a decade?", 10), ("How many years are in a century?", 100),
    ("How many years are in a millennium?", 1000), ("How many minutes are in a day?", 1440),
    ("How many hours are in a week?", 168), ("How many inches are in a foot?", 12), ("How many feet are in a yard?", 3),
    ("How many ounces are in a pound?", 16), ("How many things are in a dozen?", 12),
    ("How many sides does a triangle have?", 3), ("How many sides does a square have?", 4),
    ("How many sides does a pentagon have?", 5), ("How many sides does a hexagon have?", 6),
    ("How many sides does an octagon have?", 8), ("How many degrees are in a right angle?", 90),
    ("How many degrees are in a full circle?", 360), ("How many degrees do the angles of a triangle add up to?", 180),
    ("How many days does February have in a leap year?", 29), ("How many days are in September?", 30),
    ("How many days are in January?", 31), ("How many continents are there?", 7),
    ("How many colours are in a rainbow?", 7), ("How many players does a football team have on the pitch?", 11),
    ("How many strings does a standard guitar have?", 6), ("How many keys does a standard piano have?", 88),
    ("How many letters are in the English alphabet?", 26), ("How many hearts does an octopus have?", 3),
    ("How many wheels does a bicycle have?", 2), ("How many wheels does a tricycle have?", 3),
    ("How many faces does a cube have?", 6), ("How many cards are in a standard deck, without jokers?", 52),
    ("How many bones are in the adult human body?", 206), ("How many teeth does an adult usually have?", 32),
    ("How many planets are in our solar system?", 8), ("How many arms does an octopus have?", 8),
    ("How many legs does a snake have?", 0), ("How many rings are on the Olympic flag?", 5),
    ("How many players are on a basketball team on the court?", 5), ("How many squares are on a chessboard?", 64),
    ("How many hours are in two days?", 48), ("How many minutes are in half an hour?", 30),
    ("How many seconds are in an hour?", 3600), ("How many eggs are in half a dozen?", 6),
    ("How many sides does a rectangle have?", 4), ("How many lungs do people have?", 2),
    ("How many fingers are on one hand, counting the thumb?", 5), ("How many toes do people usually have?", 10),
)

PLURALS = (
    ("mouse", "mice"), ("child", "children"), ("man", "men"), ("woman", "women"), ("tooth", "teeth"), ("foot", "feet"),
    ("goose", "geese"), ("person", "people|persons"), ("sheep", "sheep"), ("fish", "fish|fishes"),
    ("cactus", "cacti|cactuses"), ("ox", "oxen"), ("leaf", "leaves"), ("knife", "knives"), ("wolf", "wolves"),
    ("box", "boxes"), ("baby", "babies"), ("city", "cities"), ("potato", "potatoes"), ("tomato", "tomatoes"),
    ("hero", "heroes"), ("half", "halves"), ("life", "lives"), ("scarf", "scarves|scarfs"), ("louse", "lice"), ("die", "dice"),
    ("deer", "deer"), ("moose", "moose"), ("bus", "buses|busses"), ("church", "churches"), ("dish", "dishes"),
    ("fox", "foxes"), ("party", "parties"), ("country", "countries"), ("shelf", "shelves"), ("thief", "thieves"),
    ("loaf", "loaves"), ("cherry", "cherries"), ("glass", "glasses"), ("watch", "watches"), ("fungus", "fungi|funguses"),
    ("crisis", "crises"), ("phenomenon", "phenomena"), ("criterion", "criteria"), ("calf", "calves"),
)
PAST_TENSES = (
    ("go", "went"), ("eat", "ate"), ("run", "ran"), ("see", "saw"), ("swim", "swam"), ("write", "wrote"),
    ("drink", "drank"), ("sing", "sang"), ("buy", "bought"), ("bring", "brought"), ("think", "thought"),
    ("catch", "caught"), ("teach", "taught"), ("fly", "flew"), ("take", "took"), ("give", "gave"), ("come", "came"),
    ("make", "made"), ("speak", "spoke"), ("break", "broke"), ("drive", "drove"), ("sleep", "slept"), ("know", "knew"),
    ("begin", "began"), ("choose", "chose"), ("fall", "fell"), ("feel", "felt"), ("find", "found"), ("forget", "forgot"),
    ("sit", "sat"), ("walk", "walked"), ("jump", "jumped"), ("play", "played"), ("dance", "danced"), ("cry", "cried"),
)


def _question_rows() -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """Every (row key, question, accepted answers) of the tables above."""
    for country, capital, continent, language in COUNTRIES:
        name, *others = _alternatives(country)
        key = f"country:{name}"
        country_answers = tuple(dict.fromkeys(n.removeprefix("the ") for n in (name, *others)))
        capitals = _alternatives(capital)
        yield key, f"What is the capital of {name}?", capitals
        yield key, f"Which city is the capital of {name}?", capitals
        yield key, f"{capitals[0]} is the capital of which country?", country_answers
        if continent:
            yield key, f"On which continent is {name}?", _alternatives(continent)
        if language:
            yield key, f"What is the main language spoken in {name}?", _alternatives(language)
    for element, symbol in ELEMENTS:
        name, *_ = names = _alternatives(element)
        if symbol not in AMBIGUOUS_SYMBOLS:
            yield f"element:{name}", f"What is the chemical symbol for {name}?", (symbol,)
        yield f"element:{name}", f"Which element has the chemical symbol {symbol}?", names
    for compound, formula in COMPOUNDS:
        name, *_ = names = _alternatives(compound)
        yield f"compound:{name}", f"What is the chemical formula for {name}?", (formula,)
        yield f"compound:{name}", f"Which substance has the chemical formula {formula}?", names
    for a in range(1, 13):
        for b in range(a, 13):
            yield f"plus:{a},{b}", f"What is {a} plus {b}?", numeric(a + b)
            yield f"times:{a},{b}", f"What is {a} times {b}?", numeric(a * b)
        for b in range(1, a):
            yield f"minus:{a},{b}", f"What is {a} minus {b}?", numeric(a - b)
    for word, opposites in OPPOSITES:
        answers = _alternatives(opposites)
        yield "opposite:" + ",".join(sorted((word, answers[0]))), f"What is the opposite of {word}?", answers
    for names, unit in ((DAYS, "day"), (MONTHS, "month")):
        for i, name in enumerate(names):
            yield f"{unit}-after:{name}", f"What {unit} comes after {name}?", (names[(i + 1) % len(names)],)
            yield f"{unit}-before:{name}", f"What {unit} comes before {name}?", (names[i - 1],)
    for i, letter in enumerate(ALPHABET):
        if i + 1 < len(ALPHABET):
            yield f"letter-after:{letter}", f"What letter comes after {letter} in the alphabet?", (ALPHABET[i + 1],)
        if i > 0:
            yield f"letter-before:{letter}", f"What letter comes before {letter} in the alphabet?", (ALPHABET[i - 1],)
    for n in range(1, 31):
        yield f"number-after:{n}", f"What number comes after {n}?", numeric(n + 1)
        if n > 1:
            yield f"number-before:{n}", f"What number comes before {n}?", numeric(n - 1)
    for question, colours in COLOURS_OF_THINGS:
        yield question, question, _alternatives(colours)
    for animal, legs in ANIMAL_LEGS:
        yield f"legs:{animal}", f"How many legs does {animal} have?", numeric(legs)
    for animal, sounds in ANIMAL_SOUNDS:
        yield f"sound:{animal}", f"What sound does a {animal} make?", _alternatives(sounds)
    for animal, young in ANIMAL_YOUNG:
        yield f"young:{animal}", f"What is a baby {animal} called?", _alternatives(young)
    for animals, group in ANIMAL_GROUPS:
        yield f"group:{animals}", f"What is a group of {animals} called?", _alternatives(group)
    for question, answers in FACTS:
        yield question, question, _alternatives(answers)
    for question, number in NUMBER_FACTS:
        yield question, question, numeric(number) + (("none", "no legs") if number == 0 else ())
    for word, plural in PLURALS:
        yield f"plural:{word}", f"What is the plural of {word}?", _alternatives(plural)
    for verb, past in PAST_TENSES:
        yield f"past:{verb}", f"What is the past tense of {verb}?", _alternatives(past)


@lru_cache(maxsize=None)
def _questions_by_split() -> dict[str, tuple[Question, ...]]:
    """All questions grouped by their row's split (QUESTION_SHARES), each split sorted by question text."""
    by_split: dict[str, list[Question]] = {split: [] for split in SPLITS}
    seen: set[str] = set()
    for key, question, answers in _question_rows():
        if question in seen:
            raise ValueError(f"The question {question!r} is in two table rows; a question must have one row, hence one split.")
        seen.add(question)
        by_split[split_of(f"question:{key}", QUESTION_SHARES)].append((question, answers))
    return {split: tuple(sorted(questions)) for split, questions in by_split.items()}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; the splits are {', '.join(SPLITS)}.")


def general_questions(split: str) -> list[tuple[str, tuple[str, ...]]]:
    """(question, accepted answers) pairs of a split, sorted by question: general-knowledge questions with
    short, unambiguous answers ("What is the capital of France?", ("Paris",)); numbers are accepted in
    digits and words ("12", "twelve").

    Test holds about 60% of the table rows (the benchmark keeps those the bare model gets right), val 10%,
    train 30%; all questions of one row share its split.

    Raises:
        ValueError: for an unknown split.
    """
    _check_split(split)
    return list(_questions_by_split()[split])


# ----------------------------------------------------------------------------------------------------
# Open-ended prompts: templates and their topics, one prompt per topic.

PROMPT_TABLE = (
    ("Give me three tips for {}.", (
        "sleeping better", "staying focused while studying", "saving money on groceries", "keeping houseplants alive",
        "reducing stress before an exam", "drinking more water", "learning a new language", "speaking in public",
        "writing a good cover letter", "keeping a tidy home", "cooking on a budget", "running a first 5k",
        "staying warm in winter", "packing light for a trip", "taking better photos with a phone",
        "staying motivated to exercise", "improving posture at a desk", "reading more books",
        "preparing for a job interview", "spending less time on screens", "eating more vegetables",
        "waking up earlier", "keeping a conversation going", "managing a busy inbox", "growing tomatoes",
        "caring for a sourdough starter", "writing clearly", "staying safe while hiking", "making a long flight comfortable",
        "remembering what you read",
    )),
    ("Explain how {}.", (
        "a rainbow forms", "a refrigerator keeps food cold", "vaccines train the immune system", "aeroplanes stay in the air",
        "the internet sends data", "a bicycle stays upright", "bees make honey", "volcanoes erupt",
        "the moon causes tides", "solar panels make electricity", "a compass finds north", "yeast makes bread rise",
        "the heart pumps blood", "plants make food from sunlight", "earthquakes happen", "a microwave heats food",
        "the seasons change during the year", "clouds form", "soap removes dirt", "batteries store energy",
        "a card payment goes through", "satellite navigation finds a location", "noise-cancelling headphones work",
        "a thermostat controls temperature", "old plastic is recycled", "touchscreens detect a finger",
        "hurricanes form", "a camera captures a photo", "a stock market works", "the eye sees colour",
    )),
    ("Write a short poem about {}.", (
        "autumn", "the sea", "a rainy afternoon", "the moon", "a city at night", "the first snow of winter",
        "a cup of tea", "a lighthouse", "spring flowers", "a long train journey", "the stars", "an old oak tree",
        "a thunderstorm", "morning coffee", "the desert", "a river", "friendship", "a quiet library", "the wind",
        "a sunset",
    )),
    ("Write a short story about {}.", (
        "a robot who learns to paint", "a lost umbrella", "a dragon afraid of the dark", "a lighthouse keeper",
        "a time traveller who misses the bus", "a talking tree", "a detective solving a mystery at a bakery",
        "two rival chefs", "a shy ghost", "a kite that flies to the moon", "an astronaut's first day on Mars",
        "a penguin who wants to fly", "a message in a bottle", "a forgotten key", "a town where it never rains",
    )),
    ("Describe {} in a few sentences.", (
        "a busy market", "a thunderstorm at sea", "the taste of a lemon", "a forest in autumn",
        "the view from a mountain top", "a crowded train station", "the smell of fresh bread", "a snowy morning",
        "a coral reef", "a medieval castle", "a summer festival", "the night sky in the countryside", "a waterfall",
        "an old bookshop", "a beach at sunrise", "a harbour at dawn", "a kitchen during a big family meal",
        "a library on a quiet afternoon", "a field of sunflowers", "a bustling airport", "a frozen lake",
        "a hot air balloon ride", "a street after the rain",
    )),
    ("What are the pros and cons of {}?", (
        "working from home", "electric cars", "social media", "online learning", "nuclear power", "public transport",
        "open-plan offices", "fast fashion", "a four-day working week", "renting instead of buying a home",
        "self-driving cars", "homework for young children", "mass tourism", "plastic packaging", "space exploration",
        "video games for children", "smartphones for teenagers", "video meetings", "school uniforms", "wind farms",
    )),
    ("Summarise the history of {} in a few sentences.", (
        "the printing press", "the bicycle", "chocolate", "the Olympic Games", "the internet", "coffee",
        "the telephone", "paper money", "the Roman Empire", "aviation", "photography", "vaccines", "the piano", "tea",
        "the steam engine",
    )),
    ("Explain the difference between {}.", (
        "weather and climate", "a virus and a bacterium", "a crocodile and an alligator",
        "baking soda and baking powder", "a lake and a pond", "an ocean and a sea", "a frog and a toad",
        "a rabbit and a hare", "a comet and an asteroid", "a simile and a metaphor", "jam and jelly",
        "hail and sleet", "a cello and a violin", "speed and velocity", "a tornado and a hurricane",
    )),
    ("Suggest five {}.", (
        "things to do on a rainy day indoors", "names for a new bakery", "healthy snacks for a long walk",
        "board games for a family evening", "ways to reduce food waste", "activities for a school sports day",
        "themes for a fancy dress party", "ways to learn new words", "simple science experiments for children",
        "ways to save energy at home", "easy meals with pasta", "books for a long flight",
        "questions to ask at the end of an interview", "ideas for a picnic", "ways to make a small room feel bigger",
    )),
    ("Walk me through how to {}.", (
        "change a flat bicycle tyre", "make a paper aeroplane", "bake a simple loaf of bread", "plant a tree",
        "write a haiku", "set up a monthly budget", "clean a laptop keyboard", "brew a good pot of tea",
        "tie a bowline knot", "make a vegetable stir-fry", "paint a room", "start a compost heap",
        "prepare for a long hike", "make pancakes", "iron a shirt",
    )),
    ("Write a short paragraph arguing that {}.", (
        "cities should plant more trees", "everyone should learn to cook", "libraries are still important",
        "every child should learn to swim", "museums should be free", "walking is underrated exercise",
        "handwriting still matters", "board games beat screens on a family evening", "naps make people more productive",
        "cycling should be encouraged in towns", "teaching first aid at school is worthwhile", "slow travel is better than flying",
    )),
)


def _prompts() -> list[str]:
    return [template.format(topic) for template, topics in PROMPT_TABLE for topic in topics]


def general_prompts(split: str) -> list[str]:
    """Open-ended requests whose replies are a few sentences ("Give me three tips for sleeping better.",
    "Explain how a rainbow forms."), sorted, for measuring how memory changes long replies. About half are
    test, 40% train, 10% val (PROMPT_SHARES), split by a stable hash of the text.

    Raises:
        ValueError: for an unknown split.
    """
    _check_split(split)
    return sorted(p for p in _prompts() if split_of(f"prompt:{p}", PROMPT_SHARES) == split)


# ----------------------------------------------------------------------------------------------------
# Unrelated messages: ordinary requests that state nothing about the user. No names, places, jobs,
# animals, family, favourites, ages, languages or sports, so no message can be mistaken for a fact
# (or answer a question about one).

UNRELATED_MESSAGES = (
    "Can you recommend a good book about history?", "How do I boil an egg properly?",
    "What's the safest way to defrost frozen food?", "How long should tea leaves steep?",
    "Can you explain what inflation is?", "What's a good way to learn touch typing?",
    "How do I get a coffee stain out of a shirt?", "Is it better to stretch before or after exercise?",
    "How do I convert Celsius to Fahrenheit?", "Why is the sky dark at night?", "How does compound interest work?",
    "What's the difference between a virus and a bacterium?", "Give me three ideas for a healthy breakfast.",
    "Tell me a fun fact about octopuses.", "Explain photosynthesis simply.", "How do I keep basil plants alive?",
    "What should I pack for a weekend away?", "How do I write a polite complaint email?",
    "What are some good habits for studying?", "Why do onions make people cry?", "How do magnets work?",
    "Can you suggest a simple stretching routine?", "What is a good way to start keeping a diary?",
    "How do I make a smoothie without a blender?", "What's the best way to store fresh herbs?",
    "How often should a toothbrush be replaced?", "Can you explain how a mortgage works?",
    "How do noise-cancelling headphones work?", "What causes hiccups?", "What's the easiest way to fold a fitted sheet?",
    "How can I make a room smell nice without candles?", "Can you help me write a thank-you note?",
    "How do I unclog a bathroom sink?", "What is the difference between a sprain and a strain?",
    "Why does food go stale?", "Give me a riddle to solve.", "Tell me a clean joke.",
    "How can I stop procrastinating?", "How do I back up the photos on a phone?", "What does a VPN actually do?",
    "How do I make a strong password that is easy to remember?", "Why do we have leap years?",
    "What is the best way to learn to juggle?", "Can you explain blockchain in simple words?",
    "How do I remove a splinter safely?", "What is the healthiest way to prepare vegetables?",
    "How do I politely decline an invitation?", "Can you summarise the plot of a typical heist film?",
    "Why do leaves change colour in autumn?", "How do vaccines work?", "What is a neutron star?",
    "How do I clean a cast iron pan?", "Give me a simple recipe for a weeknight dinner.", "What causes thunder?",
    "How do airplanes stay in the air?", "What is a prime number?", "How do I tie a tie?",
    "Can you explain what an API is?", "What is a haiku?", "How can I improve handwriting?",
    "Write one sentence about the ocean.", "How do I make cold brew coffee?", "What's a good way to organise a desk?",
    "Is it safe to eat raw cookie dough?", "How do I sharpen a kitchen knife?", "What's the rule for using a semicolon?",
    "When should I use 'fewer' and when 'less'?", "How does a refrigerator work?", "Why is the ocean salty?",
    "What is the difference between weather and climate?", "How many hours of sleep do adults need?",
    "How do I make rice that isn't sticky?", "Can you give me a quick mental maths trick?",
    "How do solar panels work?", "What's the best way to memorise a speech?", "How do I fix a squeaky door?",
    "Can you explain how tides work?", "What is the point of a credit score?", "How do I poach an egg?",
    "How can I tell if an avocado is ripe?", "Give me a tongue twister.", "How do I get rid of fruit flies?",
    "What is the difference between a simile and a metaphor?", "How does a bill become a law?",
    "How do I start meditating?", "What are some easy indoor plants?", "How do I wash a wool jumper?",
    "Why do we yawn?", "What's the origin of the word 'quarantine'?",
    "How does a microwave heat food?", "What is a good warm-up before a workout?", "How do I write a haiku?",
    "Can you explain the rules of noughts and crosses briefly?", "What is the best way to clean windows without streaks?",
    "How do I keep cut flowers fresh longer?", "What's a simple way to budget each month?",
    "How do I make a paper crane?", "Can you explain what a recession is?", "How do I reheat leftovers so they stay crispy?",
    "What is the difference between a crocodile and an alligator?", "Why does the moon change shape?",
    "How do I read a nutrition label?", "What is a good way to wake up without an alarm?",
    "Can you explain what machine learning is?", "How do I patch a hole in a wall?",
    "How long can cooked rice stay in the fridge?", "What is the trick to flipping an omelette?",
    "How do I calculate a tip?", "Why do we dream?", "How do I clean a microwave easily?",
    "What is the difference between a hurricane and a tornado?", "How do rainbows form?",
    "Can you recommend a good podcast about science?", "How do I caramelise onions?",
    "What is the best way to take notes in a lecture?", "How do I stop a laptop from overheating?",
    "Can you explain what a carbon footprint is?", "Give me an idea for a quick lunch.",
    "How do I make a vinaigrette?", "What causes the northern lights?", "How do I fold a paper aeroplane that flies far?",
    "What's a polite way to end a phone call?", "How do I stop metal tools from corroding?", "What is a light year?",
    "How can I make flatbread at home without yeast?", "Why do some people sneeze at bright light?",
    "How do I keep a conversation going at a party?", "What is the difference between 'affect' and 'effect'?",
    "How do I soften sugar that has gone hard?", "What are the planets in order from the sun?", "How do I descale a kettle?",
    "Can you give me a word that rhymes with month?", "How does a bicycle gear system work?",
    "Why do we get goosebumps?", "How do I get better at mental arithmetic?", "What is the best way to pack a suitcase?",
    "How do I froth milk without a machine?", "What is an index fund?",
    "How do I stop glasses from fogging up?", "What is the difference between a lake and a pond?",
    "Can you explain how a compass works?", "How do I clean canvas trainers?", "What makes a kettle whistle?",
    "How do I make a simple tomato sauce?", "Why do ears feel blocked on a plane?", "How do I fall asleep faster?",
    "Can you suggest a name for a book club?", "What is the difference between a comet and an asteroid?",
    "How do I iron a shirt without creases?", "What causes a rainbow to have colours?", "How do I write a limerick?",
    "Can you explain the water cycle?", "What is the quickest way to chill a drink?", "How do I keep fruit fresh for longer?",
    "Why is it colder at the top of a mountain?", "How do I start learning to draw?", "What is a good stretch for tight shoulders?",
    "How do I keep eggs from sticking to the pan?", "Can you explain what a stock is?", "How do I get wax off a tablecloth?",
    "What's the difference between jam and jelly?", "How does a thermostat work?", "What is static electricity?",
    "How do I store potatoes so they don't sprout?", "How do bees find flowers?", "Can you suggest a board game for a group?",
    "How do I write a good summary?", "Why do we see lightning before we hear thunder?",
    "How do I start a compost heap?", "What is the best way to clean a water bottle?",
    "How do I cut a mango?", "Can you explain what gravity is?", "How do I tell if an egg is fresh?",
)


def unrelated_messages(split: str) -> list[str]:
    """Ordinary things users say to an assistant that state no personal fact ("Can you recommend a good
    book about history?"), sorted; they fill the conversations between a fact and its question. Split by a
    stable hash of the text (MESSAGE_SHARES: train and test about 42% each, val 16%).

    Raises:
        ValueError: for an unknown split.
    """
    _check_split(split)
    return sorted(m for m in dict.fromkeys(UNRELATED_MESSAGES) if split_of(f"message:{m}", MESSAGE_SHARES) == split)
