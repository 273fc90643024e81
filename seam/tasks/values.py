"""Value pools of the facts users tell an assistant (names, places, jobs, pets, favourites...), each split
into train / validation / test so that no test value, nor anything sharing its base, is ever trained on.

Splits are disjoint by construction: a value's split is a function of its *base* alone (`split_of` of a
stable hash), so two values with one base always land in the same split. For names the base is the first
three letters of every word (accents stripped, `name_bases`), and a multi-word or hyphenated name exists
only if all its words' bases fall in one split: "Ann" (train) and "Anna Smith" (test) cannot both occur.
The same rule serves person, sibling and pet names (and employers' first words), so a base is in one split
across all of them. Places, jobs, foods and the rest use the whole value, accents stripped, as the base.

Everything is generated offline and deterministically from Faker's bundled locale lists and the tuples
below (one home for the hand-written lists); pools are built lazily and cached, so importing is cheap.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
import random
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

SPLITS = ("train", "val", "test")
SPLIT_SHARES = (0.7, 0.1, 0.2)
"""Fractions of bases (not values) in train, val and test."""
NAME_STYLES = ("first", "first_last", "diacritics", "hyphen_apostrophe", "invented")
RESERVED_NAMES = ("Alice", "Sarah")
"""The demo's names: in no split of any kind, so no model is ever trained or scored on them."""

# ----------------------------------------------------------------------------------------------------
# Faker sources (only locales that write names and places in Latin script).

PERSON_LOCALES = (
    "en", "en_US", "en_GB", "en_IE", "en_IN", "en_NZ", "en_KE", "en_NG", "en_PK", "en_TH",
    "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "fr_CA", "fr_CH", "es_ES", "es_MX", "es_AR", "es_CO",
    "it_IT", "nl_NL", "nl_BE", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "is_IS",
    "et_EE", "lv_LV", "lt_LT", "cs_CZ", "sk_SK", "sl_SI", "hr_HR", "hu_HU", "ro_RO", "tr_TR", "az_AZ",
    "uz_UZ", "id_ID", "vi_VN", "sw", "yo_NG", "ig_NG", "ha_NG", "tw_GH", "zu_ZA", "ga_IE",
)
"""Person-name locales, kept only if the installed Faker has them (`_installed`)."""
DOUBLE_NAME_LOCALES = ("en_US", "en_GB", "en_IE", "fr_FR", "de_DE", "sv_SE", "nl_NL", "da_DK", "it_IT", "es_ES")
"""Locales whose short first names are joined into hyphenated doubles ("Anna-Lena", "Jean-Marc")."""
CITY_LOCALES = (
    "cs_CZ", "da_DK", "de_AT", "de_CH", "de_DE", "en_IN", "fi_FI", "fr_DZ", "hr_HR", "id_ID", "pl_PL",
    "pt_PT", "ro_RO", "sl_SI", "sv_SE", "vi_VN", "az_AZ",
)
"""Locales whose `cities` tuple lists real cities and towns (it_IT, nl_* and sk_SK list thousands of
hamlets and are left out; en_US and others invent names from prefixes and suffixes)."""
JOB_LOCALES = ("en_US", "en_GB")
FAKER_JOB_FRAGMENTS = ("Copy", "Land", "Make", "Sub")
"""Entries of Faker's en_US job list that are fragments of titles, not jobs."""
EMPLOYER_LOCALES = ("en_US", "en_GB", "en_IE", "en_NG", "ig_NG", "yo_NG", "en_IN", "en_KE", "de_DE", "it_IT", "nl_NL", "sv_SE")

PAIRS_PER_LOCALE = 40
"""Two-word names sampled per locale and style (first_last, diacritics, hyphen_apostrophe), divided among
the splits by SPLIT_SHARES."""
DOUBLES_PER_LIST = 30
"""Hyphenated doubles sampled per locale and gendered first-name list, divided among the splits."""
EMPLOYERS = 2000
"""Employer names sampled in all, divided among the splits."""
INVENTED = 2000
"""Invented names generated in all before splitting."""

# ----------------------------------------------------------------------------------------------------
# Hand-written lists.

WORLD_CITIES = (
    # Europe
    "London", "Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Porto", "Dublin", "Cork", "Galway", "Edinburgh",
    "Glasgow", "Aberdeen", "Manchester", "Liverpool", "Birmingham", "Leeds", "Sheffield", "Newcastle", "Bristol",
    "Cardiff", "Swansea", "Belfast", "Oxford", "Cambridge", "Brighton", "York", "Norwich", "Amsterdam", "Rotterdam",
    "Utrecht", "The Hague", "Eindhoven", "Brussels", "Antwerp", "Ghent", "Bruges", "Luxembourg", "Zürich", "Geneva",
    "Basel", "Bern", "Lausanne", "Vienna", "Salzburg", "Innsbruck", "Graz", "Munich", "Hamburg", "Cologne",
    "Frankfurt", "Stuttgart", "Düsseldorf", "Leipzig", "Dresden", "Nuremberg", "Bremen", "Hanover", "Heidelberg",
    "Prague", "Brno", "Bratislava", "Budapest", "Debrecen", "Warsaw", "Kraków", "Gdańsk", "Wrocław", "Poznań",
    "Łódź", "Vilnius", "Kaunas", "Riga", "Tallinn", "Tartu", "Helsinki", "Tampere", "Turku", "Stockholm",
    "Gothenburg", "Malmö", "Uppsala", "Oslo", "Bergen", "Trondheim", "Tromsø", "Copenhagen", "Aarhus", "Odense",
    "Reykjavík", "Akureyri", "Barcelona", "Valencia", "Seville", "Málaga", "Bilbao", "Granada", "Zaragoza",
    "Palma", "Córdoba", "Salamanca", "San Sebastián", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes",
    "Bordeaux", "Lille", "Strasbourg", "Montpellier", "Rennes", "Milan", "Naples", "Turin", "Florence",
    "Venice", "Bologna", "Genoa", "Palermo", "Verona", "Bari", "Athens", "Thessaloniki", "Heraklion", "Sofia",
    "Plovdiv", "Varna", "Bucharest", "Cluj-Napoca", "Timișoara", "Iași", "Brașov", "Belgrade", "Novi Sad",
    "Zagreb", "Split", "Dubrovnik", "Ljubljana", "Sarajevo", "Mostar", "Skopje", "Tirana", "Podgorica",
    "Chișinău", "Kyiv", "Lviv", "Odesa", "Kharkiv", "Minsk", "Moscow", "Saint Petersburg", "Kazan", "Istanbul",
    "Ankara", "Izmir", "Antalya", "Tbilisi", "Yerevan", "Baku", "Valletta", "Nicosia", "Limassol",
    # Americas
    "New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio", "San Diego",
    "Dallas", "Austin", "San Francisco", "Seattle", "Portland", "Denver", "Boston", "Miami", "Atlanta",
    "New Orleans", "Nashville", "Memphis", "Detroit", "Minneapolis", "Pittsburgh", "Baltimore", "Las Vegas",
    "Salt Lake City", "Honolulu", "Anchorage", "Kansas City", "Saint Louis", "Cleveland", "Cincinnati",
    "Orlando", "Tampa", "Charlotte", "Raleigh", "Sacramento", "Albuquerque", "Tucson", "Milwaukee", "Buffalo",
    "Toronto", "Montreal", "Vancouver", "Calgary", "Ottawa", "Edmonton", "Winnipeg", "Halifax", "Quebec City",
    "Mexico City", "Guadalajara", "Monterrey", "Oaxaca", "Puebla", "Havana", "Kingston", "San Juan",
    "Santo Domingo", "Panama City", "San José", "Guatemala City", "Bogotá", "Medellín", "Cartagena", "Cali",
    "Quito", "Guayaquil", "Lima", "Cusco", "La Paz", "Santiago", "Valparaíso", "Buenos Aires", "Mendoza",
    "Rosario", "Montevideo", "Asunción", "São Paulo", "Rio de Janeiro", "Brasília", "Salvador", "Recife",
    "Fortaleza", "Belo Horizonte", "Porto Alegre", "Curitiba", "Manaus", "Caracas",
    # Africa
    "Cairo", "Alexandria", "Casablanca", "Marrakesh", "Rabat", "Fez", "Tunis", "Algiers", "Tripoli", "Khartoum",
    "Addis Ababa", "Nairobi", "Mombasa", "Kisumu", "Kampala", "Kigali", "Dar es Salaam", "Arusha", "Lusaka",
    "Harare", "Bulawayo", "Maputo", "Johannesburg", "Cape Town", "Durban", "Pretoria", "Windhoek", "Gaborone",
    "Luanda", "Kinshasa", "Lagos", "Abuja", "Ibadan", "Kano", "Enugu", "Accra", "Kumasi", "Dakar", "Abidjan",
    "Bamako", "Ouagadougou", "Niamey", "Freetown", "Monrovia", "Douala", "Yaoundé", "Antananarivo", "Port Louis",
    # Asia
    "Tokyo", "Osaka", "Kyoto", "Yokohama", "Sapporo", "Nagoya", "Fukuoka", "Hiroshima", "Seoul", "Busan",
    "Incheon", "Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Chengdu", "Wuhan", "Xi'an", "Hangzhou",
    "Nanjing", "Hong Kong", "Macau", "Taipei", "Kaohsiung", "Ulaanbaatar", "Manila", "Cebu", "Davao", "Hanoi",
    "Ho Chi Minh City", "Da Nang", "Bangkok", "Chiang Mai", "Phuket", "Vientiane", "Phnom Penh", "Siem Reap",
    "Yangon", "Mandalay", "Kuala Lumpur", "George Town", "Singapore", "Jakarta", "Surabaya", "Bandung",
    "Denpasar", "Yogyakarta", "Dhaka", "Chittagong", "Kathmandu", "Pokhara", "Thimphu", "Colombo", "Kandy",
    "Mumbai", "Delhi", "Bangalore", "Chennai", "Kolkata", "Hyderabad", "Pune", "Ahmedabad", "Jaipur", "Lucknow",
    "Kochi", "Karachi", "Lahore", "Islamabad", "Kabul", "Tehran", "Isfahan", "Shiraz", "Baghdad", "Basra",
    "Damascus", "Beirut", "Amman", "Riyadh", "Jeddah", "Dubai", "Abu Dhabi", "Doha", "Muscat", "Kuwait City",
    "Manama", "Tashkent", "Samarkand", "Almaty", "Astana", "Bishkek", "Dushanbe", "Ashgabat",
    # Oceania
    "Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Hobart", "Darwin", "Canberra", "Gold Coast",
    "Auckland", "Wellington", "Christchurch", "Dunedin", "Queenstown", "Suva",
)

COMMON_JOBS = (
    "accountant", "actor", "air traffic controller", "architect", "artist", "baker", "barber", "barista",
    "bartender", "bus driver", "butcher", "carpenter", "cashier", "chef", "childminder", "civil engineer",
    "cleaner", "computer programmer", "construction worker", "data analyst", "data scientist", "delivery driver",
    "dental hygienist", "dentist", "dietitian", "doctor", "electrician", "estate agent", "farmer", "firefighter",
    "fitness instructor", "flight attendant", "florist", "gardener", "graphic designer", "hairdresser",
    "head teacher", "hotel receptionist", "interior designer", "journalist", "judge", "kindergarten teacher",
    "lawyer", "librarian", "lifeguard", "lorry driver", "mail carrier", "mechanic", "midwife", "musician",
    "nurse", "nursery nurse", "occupational therapist", "optician", "painter and decorator", "paramedic",
    "pharmacist", "photographer", "physiotherapist", "pilot", "plumber", "police officer", "postman",
    "primary school teacher", "project manager", "psychologist", "radiographer", "receptionist", "roofer",
    "sales assistant", "school nurse", "secondary school teacher", "secretary", "security guard", "social worker",
    "software developer", "software engineer", "speech therapist", "surgeon", "tailor", "taxi driver",
    "teaching assistant", "tour guide", "train driver", "translator", "truck driver", "university lecturer",
    "vet", "veterinary nurse", "waiter", "waitress", "web developer", "welder", "youth worker", "zookeeper",
    "bank teller", "call centre agent", "care worker", "chemist", "cook", "courier", "crane operator",
    "customer service adviser", "dog groomer", "driving instructor", "warehouse worker", "personal trainer",
    "yoga teacher", "music teacher", "marketing manager", "shop manager", "video editor", "nanny",
)

EMPLOYER_WORDS = (
    "Brightwater", "Northwind", "Bluebird", "Oakridge", "Silverline", "Greenleaf", "Redwood", "Stonebridge",
    "Riverside", "Sunflower", "Maple", "Evergreen", "Harbour", "Summit", "Lighthouse", "Goldcrest", "Ironbark",
    "Meadowbrook", "Clearwater", "Highland", "Pinecrest", "Westgate", "Eastfield", "Southbank", "Kingfisher",
    "Foxglove", "Juniper", "Copperfield", "Blackstone", "Whitecliff", "Sandpiper", "Larkspur", "Moonstone",
    "Starling", "Thistle", "Willowbrook", "Ashford", "Cedar", "Horizon", "Keystone", "Lakeside", "Millbrook",
    "Orchard", "Pebble", "Quarry", "Rosewood", "Saltmarsh", "Tidewater", "Upland", "Valley", "Windmill",
    "Yellowstone", "Zephyr", "Acorn", "Beacon", "Compass", "Driftwood", "Ember", "Falcon", "Granite", "Hearth",
    "Indigo", "Kestrel", "Lantern", "Marigold", "Nimbus", "Osprey", "Pioneer", "Quill", "Raven", "Sparrow",
    "Thornbury", "Unity", "Vantage", "Wren", "Atlas", "Bramble", "Cobalt", "Dune", "Elm",
)
EMPLOYER_SUFFIXES = (
    "Logistics", "Bakery", "Consulting", "Studios", "Builders", "Dental", "Engineering", "Foods", "Insurance",
    "Motors", "Pharmacy", "Software", "Solutions", "Systems", "Technologies", "Textiles", "Bank", "Books",
    "Brewing", "Coffee", "Design", "Energy", "Garden Centre", "Health", "Hotels", "Labs", "Law", "Media",
    "Partners", "Press", "Printing", "Realty", "Robotics", "Shipping", "Supplies", "Travel", "Veterinary Clinic",
    "Accounting", "Architects", "Analytics", "Construction", "Dairy", "Electrical", "Furniture", "Group",
    "Hardware", "Industries", "Kitchens", "Marketing", "Pharmaceuticals", "Plumbing", "Recruitment", "Removals",
    "Security", "Telecom", "Transport", "Ventures", "Wholesale",
)

PET_NAMES = (
    "Biscuit", "Pepper", "Mochi", "Sir Waddles", "Bella", "Luna", "Charlie", "Max", "Daisy", "Bailey",
    "Coco", "Milo", "Teddy", "Rocky", "Buster", "Ginger", "Shadow", "Smokey", "Oreo", "Peanut", "Pickle",
    "Noodle", "Waffles", "Pancake", "Muffin", "Cupcake", "Cookie", "Brownie", "Toffee", "Fudge", "Nacho",
    "Taco", "Burrito", "Dumpling", "Sushi", "Tofu", "Wasabi", "Nutmeg", "Cinnamon", "Paprika", "Saffron",
    "Basil", "Clover", "Maple", "Willow", "Hazel", "Juniper", "Olive", "Poppy", "Rosie", "Tulip", "Acorn",
    "Pumpkin", "Peaches", "Mango", "Kiwi", "Bean", "Sprout", "Button", "Buttons", "Patches", "Socks",
    "Mittens", "Boots", "Whiskers", "Mr Whiskers", "Captain Fluff", "Lady Marmalade", "Princess", "Duchess",
    "Duke", "Baron", "Major", "Sergeant Pepper", "Admiral", "Bandit", "Rascal", "Scamp", "Tigger", "Simba",
    "Nala", "Bambi", "Thumper", "Yoda", "Chewie", "Gizmo", "Pixel", "Widget", "Sprocket", "Bolt", "Zippy",
    "Dash", "Rocket", "Comet", "Cosmo", "Nova", "Storm", "Thunder", "Blizzard", "Frosty", "Snowball",
    "Snowflake", "Marshmallow", "Pudding", "Custard", "Jellybean", "Gumdrop", "Sprinkles", "Truffle", "Caramel",
    "Butterscotch", "Honey", "Sugar", "Treacle", "Crumpet", "Scone", "Pretzel", "Bagel", "Meatball", "Chorizo",
    "Pesto", "Ravioli", "Gnocchi", "Ziggy", "Bowie", "Elvis", "Dolly", "Bluey", "Scooby", "Snoopy", "Garfield",
    "Felix", "Tom", "Jerry", "Fluffy", "Fuzzy", "Spike", "Rex", "Fido", "Spot", "Rover", "Lucky", "Ziggy Stardust",
    "Mister Pickles", "Lord Fluffington", "Baroness", "Chairman Meow", "Catniss", "Pawsome", "Barkley",
    "Woofles", "Wiggles", "Squiggles", "Nibbles", "Hoppy", "Flopsy", "Mopsy", "Cottontail", "Pip", "Squeak",
    "Peep", "Tweety", "Kiki", "Polly", "Sunny", "Sunshine", "Goldie", "Bubbles", "Nemo", "Dory", "Finn",
    "Shelly", "Speedy", "Sheldon", "Crush", "Slinky", "Noodles", "Ziggles", "Binky", "Dobby", "Hedwig",
    "Chester", "Winston", "Churchill", "Murphy", "Oscar", "Jasper", "Archie", "Alfie", "Bertie", "Monty",
    "Rufus", "Hugo", "Otis", "Ollie", "Louie", "Frankie", "Benji", "Bruno", "Zeus", "Apollo", "Athena",
    "Thor", "Loki", "Odin", "Freya", "Misty", "Stormy", "Dusty", "Rusty", "Sandy", "Smudge", "Sooty", "Inky",
    "Midnight", "Domino", "Jinx", "Tinkerbell", "Bonbon", "Pom Pom", "Fifi", "Lulu", "Mimi", "Zuzu",
)

SPECIES = (
    "dog", "cat", "rabbit", "hamster", "guinea pig", "parrot", "budgie", "canary", "cockatiel", "goldfish",
    "betta fish", "turtle", "tortoise", "bearded dragon", "leopard gecko", "corn snake", "ball python", "iguana",
    "ferret", "chinchilla", "rat", "mouse", "gerbil", "hedgehog", "horse", "pony", "donkey", "goat", "pig",
    "chicken", "duck", "axolotl", "tarantula", "hermit crab", "lovebird", "cockatoo", "alpaca", "sheep",
    "degu", "sugar glider",
)

FOODS = (
    "pizza", "pasta", "lasagne", "spaghetti bolognese", "carbonara", "risotto", "gnocchi", "ravioli", "pesto",
    "pad thai", "green curry", "red curry", "massaman curry", "tom yum soup", "sushi", "sashimi", "ramen",
    "udon", "tempura", "teriyaki chicken", "katsu curry", "okonomiyaki", "takoyaki", "miso soup", "dumplings",
    "dim sum", "spring rolls", "fried rice", "chow mein", "kung pao chicken", "mapo tofu", "peking duck",
    "hot pot", "bibimbap", "kimchi", "bulgogi", "korean fried chicken", "pho", "banh mi", "laksa",
    "nasi goreng", "satay", "rendang", "chicken tikka masala", "butter chicken", "biryani", "dal", "samosas",
    "naan", "paneer", "chana masala", "dosa", "idli", "vindaloo", "korma", "tandoori chicken", "falafel",
    "hummus", "shawarma", "kebab", "tabbouleh", "baklava", "moussaka", "souvlaki", "spanakopita", "gyros",
    "paella", "tapas", "tortilla", "gazpacho", "churros", "tacos", "burritos", "enchiladas", "quesadillas",
    "nachos", "guacamole", "chilli con carne", "fajitas", "tamales", "empanadas", "ceviche", "feijoada",
    "arepas", "jollof rice", "fufu", "egusi soup", "suya", "injera", "bobotie", "tagine", "couscous",
    "shakshuka", "croissants", "crepes", "quiche", "ratatouille", "coq au vin", "boeuf bourguignon", "fondue",
    "raclette", "schnitzel", "bratwurst", "sauerkraut", "pretzels", "goulash", "pierogi", "borscht",
    "beef stroganoff", "blini", "fish and chips", "shepherd's pie", "cottage pie", "bangers and mash",
    "sunday roast", "roast chicken", "roast beef", "yorkshire pudding", "full english breakfast",
    "beans on toast", "cornish pasty", "sausage rolls", "scotch eggs", "haggis", "irish stew", "steak",
    "steak and chips", "burgers", "cheeseburgers", "hot dogs", "fried chicken", "chicken wings",
    "barbecue ribs", "pulled pork", "mac and cheese", "clam chowder", "lobster rolls", "cornbread", "gumbo",
    "jambalaya", "grits", "pancakes", "waffles", "french toast", "bagels", "eggs benedict", "omelettes",
    "scrambled eggs", "porridge", "granola", "yoghurt", "avocado toast", "toast", "grilled cheese",
    "club sandwiches", "blt sandwiches", "tuna melts", "caesar salad", "greek salad", "potato salad",
    "coleslaw", "chicken soup", "tomato soup", "minestrone", "french onion soup", "lentil soup",
    "mushroom soup", "roast potatoes", "mashed potatoes", "jacket potatoes", "chips", "sweet potato fries",
    "onion rings", "corn on the cob", "baked beans", "cheese on toast", "cheese", "brie", "cheddar",
    "mozzarella", "halloumi", "feta", "olives", "bread", "sourdough", "garlic bread", "focaccia", "ciabatta",
    "chocolate", "dark chocolate", "ice cream", "gelato", "apple pie", "cherry pie", "pumpkin pie",
    "lemon meringue pie", "cheesecake", "chocolate cake", "carrot cake", "victoria sponge", "red velvet cake",
    "brownies", "cookies", "doughnuts", "cupcakes", "muffins", "scones", "tiramisu", "panna cotta",
    "creme brulee", "chocolate mousse", "sticky toffee pudding", "bread and butter pudding", "rice pudding",
    "trifle", "eton mess", "pavlova", "banoffee pie", "key lime pie", "macarons", "eclairs", "profiteroles",
    "strudel", "black forest gateau", "mochi", "cinnamon rolls", "jam tarts", "custard tarts", "pastel de nata",
    "strawberries", "blueberries", "raspberries", "cherries", "mangoes", "pineapple", "watermelon", "bananas",
    "apples", "peaches", "grapes", "oranges", "kiwis", "lychees", "figs", "avocados", "popcorn", "crisps",
    "peanut butter", "honey", "salmon", "tuna", "prawns", "mussels", "oysters", "crab", "lobster", "squid",
    "calamari", "roast lamb", "lamb chops", "pork chops", "meatballs", "meatloaf", "chicken pie",
    "steak and kidney pie", "fish pie", "toad in the hole", "bubble and squeak", "kedgeree", "welsh rarebit",
    "pot noodles", "instant noodles", "tofu", "tempeh", "seitan", "veggie burgers", "stuffed peppers",
    "aubergine parmigiana", "mushroom risotto", "spinach and ricotta cannelloni", "cauliflower cheese",
    "poutine", "pierogies", "sauerbraten", "smorrebrod", "gravlax", "meatball subs", "poke bowls", "burrito bowls",
    "acai bowls", "smoothie bowls", "bento boxes", "onigiri", "gyoza", "char siu pork", "congee", "wontons",
    "bao buns", "xiaolongbao", "tteokbokki", "japchae", "roti canai", "adobo", "lumpia", "sinigang",
    "pad see ew", "som tam", "khao soi", "larb", "mango sticky rice", "tom kha gai", "nasi lemak",
    "chicken rice", "char kway teow", "beef rendang", "mee goreng", "pav bhaji", "vada pav", "pani puri",
    "aloo gobi", "saag paneer", "rogan josh", "jalebi", "gulab jamun", "kulfi", "mango lassi",
)

COLOURS = (
    "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white", "grey", "teal",
    "turquoise", "navy blue", "sky blue", "royal blue", "baby blue", "cobalt blue", "electric blue", "indigo",
    "violet", "lavender", "lilac", "mauve", "magenta", "fuchsia", "crimson", "scarlet", "maroon", "burgundy",
    "wine red", "cherry red", "coral", "salmon pink", "peach", "apricot", "amber", "gold", "mustard yellow",
    "lemon yellow", "cream", "ivory", "beige", "tan", "khaki", "olive green", "forest green", "emerald green",
    "mint green", "lime green", "sage green", "bottle green", "jade", "aquamarine", "cyan", "charcoal grey",
    "silver", "slate grey", "chocolate brown", "chestnut", "copper", "bronze", "rust", "burnt orange",
    "terracotta", "ochre", "sand", "taupe", "plum", "aubergine", "raspberry", "rose", "blush pink", "hot pink",
    "periwinkle", "cerulean", "sapphire blue", "ruby red", "sea green", "duck egg blue", "powder blue",
    "midnight blue", "petrol blue", "mulberry", "sunflower yellow", "tangerine", "vermilion", "pearl white",
    "off white", "jet black", "pastel pink", "pastel blue", "pastel green", "neon green", "neon pink",
    "dusty rose", "moss green", "denim blue", "cornflower blue", "brick red", "pale yellow", "dark green",
    "light blue", "dark blue", "light green", "dark red", "lemon", "mint", "honey", "caramel", "cinnamon",
)

SPORTS = (
    "football", "soccer", "basketball", "tennis", "cricket", "rugby", "baseball", "volleyball", "badminton",
    "table tennis", "golf", "swimming", "cycling", "running", "athletics", "boxing", "judo", "karate",
    "taekwondo", "fencing", "rowing", "sailing", "surfing", "skiing", "snowboarding", "ice hockey",
    "field hockey", "figure skating", "speed skating", "curling", "handball", "water polo", "netball",
    "lacrosse", "softball", "gymnastics", "wrestling", "archery", "squash", "darts", "snooker", "pool",
    "bowling", "triathlon", "marathon running", "sport climbing", "bouldering", "skateboarding", "motor racing",
    "formula one", "horse riding", "show jumping", "polo", "kayaking", "canoeing", "diving",
    "artistic swimming", "weightlifting", "powerlifting", "ultimate frisbee", "disc golf", "american football",
    "australian rules football", "gaelic football", "hurling", "kabaddi", "sumo wrestling",
    "mixed martial arts", "kickboxing", "muay thai", "jiu-jitsu", "orienteering", "mountain biking",
    "trail running", "cross-country skiing", "biathlon", "bobsleigh", "luge", "ski jumping", "windsurfing",
    "kitesurfing", "paddleboarding", "water skiing", "wakeboarding", "beach volleyball", "padel", "pickleball",
    "racquetball", "croquet", "lawn bowls", "futsal", "dodgeball", "roller derby", "inline skating", "parkour",
    "sepak takraw", "floorball", "korfball", "bandy", "duathlon", "modern pentathlon", "decathlon",
    "pole vault", "long jump", "high jump", "shot put", "javelin", "hammer throw", "sprinting", "hurdles",
    "race walking", "cyclocross", "track cycling", "open water swimming", "freediving", "bmx racing",
    "rally driving", "motocross", "equestrian eventing", "dressage", "rodeo", "jai alai", "hockey",
)

MUSIC_GENRES = (
    "jazz", "blues", "rock", "pop", "hip hop", "rap", "classical music", "country", "folk", "reggae", "soul",
    "funk", "disco", "techno", "house", "trance", "drum and bass", "dubstep", "garage", "grime", "punk",
    "heavy metal", "death metal", "black metal", "thrash metal", "indie rock", "indie pop", "alternative rock",
    "grunge", "shoegaze", "post-rock", "progressive rock", "psychedelic rock", "hard rock", "soft rock",
    "glam rock", "emo", "ska", "rockabilly", "bluegrass", "gospel", "rhythm and blues", "motown", "salsa",
    "samba", "bossa nova", "tango", "flamenco", "fado", "cumbia", "reggaeton", "merengue", "bachata",
    "afrobeat", "afrobeats", "highlife", "k-pop", "j-pop", "city pop", "bollywood music", "qawwali", "ambient",
    "lo-fi", "synthwave", "synth-pop", "new wave", "electro", "trip hop", "big band", "swing", "bebop",
    "smooth jazz", "acid jazz", "opera", "baroque music", "chamber music", "choral music", "film scores",
    "musical theatre", "a cappella", "barbershop", "sea shanties", "celtic music", "klezmer", "zydeco",
    "americana", "chiptune", "vaporwave", "hardcore punk", "metalcore", "nu metal", "post-punk", "britpop",
    "dancehall", "dub", "drill", "trap", "jungle", "breakbeat", "industrial", "krautrock", "cool jazz",
    "free jazz", "gamelan", "amapiano", "kwaito", "soca", "calypso", "mariachi", "bhangra", "enka", "chanson",
)

VALIDATION_VALUE_SHARES = (0.2, 0.6, 0.2)
"""Train / val / test shares of DRINKS and GEMSTONES (`validation_value_split`): values only a validation-only kind
asks for."""
GEMSTONES = (
    "diamond", "opal", "amethyst", "garnet", "topaz", "peridot", "tourmaline", "citrine", "onyx",
    "moonstone", "lapis lazuli", "tanzanite", "alexandrite", "morganite", "spinel", "zircon", "malachite", "obsidian",
    "jasper", "carnelian", "agate", "bloodstone", "labradorite", "rose quartz", "smoky quartz", "tiger's eye", "sunstone",
    "chrysoprase", "kunzite", "iolite", "rhodochrosite", "sodalite", "fluorite", "hematite", "beryl", "howlite",
    "aventurine", "chalcedony", "larimar", "moldavite", "chrysoberyl", "heliodor", "andalusite", "apatite", "azurite",
    "charoite", "danburite", "kyanite", "prehnite", "rhodonite", "serpentine", "sugilite", "unakite", "variscite",
)
"""Gemstones (none a colour of COLOURS or in one: no "ruby", "emerald", "jade", "amber", "sapphire", "pearl"), asked only by
a validation-only kind (facts.FactKind.validation_only; session 36): a kind of value no trained kind has."""
DRINKS = (
    "coffee", "espresso", "cappuccino", "flat white", "latte", "cortado", "americano", "cold brew", "iced coffee",
    "mocha", "macchiato", "turkish coffee", "vietnamese iced coffee", "irish coffee", "green tea", "black tea",
    "earl grey", "english breakfast tea", "chamomile tea", "peppermint tea", "rooibos", "oolong", "jasmine tea",
    "matcha", "chai", "masala chai", "bubble tea", "iced tea", "yerba mate", "hibiscus tea", "barley tea",
    "hot chocolate", "orange juice", "apple juice", "grape juice", "tomato juice", "carrot juice", "pineapple juice",
    "cranberry juice", "grapefruit juice", "lemonade", "limeade", "pink lemonade", "ginger ale", "ginger beer",
    "root beer", "cola", "cream soda", "tonic water", "sparkling water", "mineral water", "coconut water",
    "milk", "oat milk", "almond milk", "soy milk", "chocolate milk", "buttermilk", "kefir", "lassi", "salted lassi",
    "ayran", "kombucha", "kvass", "horchata", "agua fresca", "tamarind juice", "sugarcane juice", "sorrel",
    "milkshake", "smoothie", "eggnog", "apple cider", "hot cider", "mulled wine", "red wine", "white wine",
    "rose wine", "prosecco", "champagne", "cava", "port", "sherry", "sake", "soju", "baijiu", "mead", "beer",
    "lager", "pale ale", "stout", "porter", "wheat beer", "sour beer", "cider", "whisky", "bourbon", "rye whiskey",
    "gin and tonic", "rum punch", "margarita", "mojito", "negroni", "martini", "old fashioned", "daiquiri",
    "pina colada", "caipirinha", "spritz", "bloody mary", "sangria", "pisco sour", "mezcal", "tequila", "ouzo",
    "raki", "arak", "grappa", "limoncello", "amaretto", "vermouth", "absinthe", "cognac", "brandy", "calvados",
    "chicha morada", "boza", "salep", "sikhye", "thai iced tea", "teh tarik", "cafe de olla", "atole", "tejuino",
)

HOBBIES = (
    "rock climbing", "knitting", "crochet", "sewing", "embroidery", "quilting", "painting", "drawing",
    "sketching", "watercolour painting", "oil painting", "calligraphy", "pottery", "woodworking", "wood carving",
    "photography", "birdwatching", "gardening", "baking", "cooking", "bread making", "brewing beer",
    "wine tasting", "fishing", "fly fishing", "hiking", "camping", "backpacking", "running", "cycling",
    "swimming", "yoga", "pilates", "meditation", "dancing", "salsa dancing", "ballroom dancing", "tap dancing",
    "ballet", "singing", "playing the guitar", "playing the piano", "playing the violin", "playing the drums",
    "playing the ukulele", "playing the cello", "playing the flute", "playing the saxophone", "dj mixing",
    "writing songs", "writing poetry", "writing short stories", "journaling", "blogging", "reading",
    "reading crime novels", "reading science fiction", "chess", "board games", "card games", "jigsaw puzzles",
    "crosswords", "sudoku", "video games", "tabletop role-playing games", "model building", "model railways",
    "lego building", "origami", "scrapbooking", "candle making", "soap making", "jewellery making",
    "stamp collecting", "coin collecting", "vinyl collecting", "antique hunting", "thrift shopping",
    "geocaching", "stargazing", "astronomy", "beekeeping", "keeping chickens", "foraging", "mushroom foraging",
    "kayaking", "canoeing", "paddleboarding", "surfing", "sailing", "scuba diving", "snorkelling", "skiing",
    "snowboarding", "ice skating", "roller skating", "skateboarding", "mountain biking", "horse riding",
    "archery", "fencing", "martial arts", "boxing", "weightlifting", "bouldering", "trail running",
    "parkour", "juggling", "magic tricks", "stand-up comedy", "improv theatre", "amateur dramatics",
    "learning languages", "volunteering", "restoring old cars", "fixing bikes", "metal detecting",
    "genealogy", "coding", "building robots", "electronics", "3d printing", "drone flying", "kite flying",
    "bonsai", "flower arranging", "terrariums", "aquascaping", "cross-stitch", "macrame", "weaving",
    "spinning yarn", "dyeing fabric", "leatherwork", "glassblowing", "stained glass", "blacksmithing",
    "bookbinding", "printmaking", "linocut printing", "screen printing", "street photography",
    "film photography", "video editing", "podcasting", "vlogging", "karaoke", "choir singing", "bell ringing",
    "bird feeding", "pond keeping", "fishkeeping", "dog training", "trainspotting", "plane spotting",
    "urban sketching", "bullet journaling", "fantasy football", "pub quizzes", "escape rooms", "bowling",
    "darts", "pool", "table tennis", "golf", "tennis", "badminton", "squash", "walking", "nordic walking",
    "orienteering", "wild swimming", "open water swimming", "triathlon training", "marathon training",
    "home brewing", "cheese making", "fermenting", "pickling", "cake decorating", "chocolate making",
    "coffee roasting", "tea tasting", "cocktail making", "collecting sneakers", "collecting comics",
    "reading comics", "drawing comics", "anime", "cosplay", "miniature painting", "warhammer", "puzzle boxes",
    "rubik's cubes", "speedcubing", "solving riddles", "listening to podcasts", "going to concerts",
    "going to the theatre", "going to the cinema", "visiting museums", "visiting castles", "travelling",
    "caravanning", "vanlife", "rock collecting", "fossil hunting", "beachcombing", "shell collecting",
    "upcycling furniture", "interior decorating", "houseplants", "composting", "allotment gardening",
)

LANGUAGES = (
    "English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch", "Swedish", "Norwegian",
    "Danish", "Finnish", "Icelandic", "Polish", "Czech", "Slovak", "Hungarian", "Romanian", "Bulgarian",
    "Greek", "Russian", "Ukrainian", "Belarusian", "Serbian", "Croatian", "Bosnian", "Slovenian", "Macedonian",
    "Albanian", "Lithuanian", "Latvian", "Estonian", "Turkish", "Arabic", "Hebrew", "Persian", "Farsi",
    "Kurdish", "Urdu", "Hindi", "Bengali", "Punjabi", "Gujarati", "Marathi", "Tamil", "Telugu", "Kannada",
    "Malayalam", "Sinhala", "Nepali", "Mandarin", "Mandarin Chinese", "Cantonese", "Japanese", "Korean",
    "Vietnamese", "Thai", "Lao", "Khmer", "Burmese", "Malay", "Indonesian", "Tagalog", "Filipino", "Swahili",
    "Amharic", "Yoruba", "Igbo", "Hausa", "Zulu", "Xhosa", "Afrikaans", "Somali", "Welsh", "Irish",
    "Scottish Gaelic", "Catalan", "Basque", "Galician", "Luxembourgish", "Maltese", "Armenian", "Georgian",
    "Azerbaijani", "Kazakh", "Uzbek", "Mongolian", "Tibetan", "Pashto", "Esperanto", "Latin", "Sign Language",
    "British Sign Language", "American Sign Language", "Haitian Creole", "Quechua", "Guarani", "Maori",
    "Hawaiian", "Samoan", "Tongan", "Fijian", "Yiddish", "Faroese", "Sami", "Breton", "Cornish", "Frisian",
)

# ----------------------------------------------------------------------------------------------------
# Values of the breadth kinds (seam.tasks.facts.BREADTH_KINDS): kinds of fact only trained, none of them a
# language, a sport, a date or a drink (the kinds the benchmark and the selection hold out of training).

INSTRUMENTS = (
    "piano", "guitar", "electric guitar", "bass guitar", "violin", "viola", "cello", "double bass", "harp",
    "flute", "piccolo", "clarinet", "oboe", "bassoon", "saxophone", "trumpet", "trombone", "French horn",
    "tuba", "euphonium", "drums", "snare drum", "timpani", "xylophone", "marimba", "vibraphone", "accordion",
    "harmonica", "ukulele", "banjo", "mandolin", "sitar", "tabla", "bagpipes", "recorder", "organ",
    "harpsichord", "synthesiser", "keyboard", "lute", "zither", "balalaika", "bouzouki", "djembe", "steel drum",
    "cajon", "didgeridoo", "kalimba", "erhu", "koto", "shamisen", "oud", "pan flute", "tin whistle", "fiddle",
    "cornet", "flugelhorn", "glockenspiel", "theremin", "hurdy-gurdy",
)
CAR_MODELS = (
    "Toyota Corolla", "Toyota Prius", "Toyota Yaris", "Honda Civic", "Honda Jazz", "Ford Fiesta", "Ford Focus",
    "Ford Mustang", "Volkswagen Golf", "Volkswagen Polo", "Volkswagen Beetle", "Renault Clio", "Peugeot 208",
    "Citroen C3", "Fiat 500", "Fiat Panda", "Skoda Octavia", "Seat Ibiza", "Opel Corsa", "Vauxhall Astra",
    "Nissan Leaf", "Nissan Micra", "Mazda MX-5", "Subaru Outback", "Kia Picanto", "Hyundai i30", "Tesla Model 3",
    "Tesla Model Y", "BMW 3 Series", "BMW Mini", "Audi A4", "Audi A3", "Mercedes C-Class", "Volvo XC90",
    "Volvo V70", "Land Rover Defender", "Range Rover", "Jeep Wrangler", "Dacia Sandero", "Suzuki Swift",
    "Mitsubishi Outlander", "Chevrolet Camaro", "Porsche 911", "Saab 900", "Lada Niva", "Citroen 2CV",
    "Renault Twingo", "Peugeot 308", "Toyota Land Cruiser", "Honda CR-V", "Ford Transit", "Volkswagen Passat",
)
SUBJECTS = (
    "chemistry", "physics", "biology", "mathematics", "history", "geography", "economics", "philosophy",
    "psychology", "sociology", "anthropology", "archaeology", "law", "medicine", "nursing", "dentistry",
    "veterinary science", "architecture", "civil engineering", "mechanical engineering", "electrical engineering",
    "computer science", "software engineering", "statistics", "accounting", "business studies", "marketing",
    "journalism", "media studies", "film studies", "fine art", "graphic design", "fashion design", "music",
    "theatre studies", "english literature", "classics", "theology", "politics", "international relations",
    "astrophysics", "geology", "marine biology", "zoology", "botany", "ecology", "environmental science",
    "agriculture", "pharmacy", "biochemistry", "neuroscience", "genetics", "nutrition", "sports science",
    "education", "social work", "criminology", "urban planning", "linguistics", "art history",
)
ALLERGENS = (
    "peanuts", "tree nuts", "almonds", "cashews", "walnuts", "hazelnuts", "shellfish", "prawns", "crab",
    "fish", "eggs", "milk", "wheat", "gluten", "soy", "sesame", "mustard", "celery", "lupin", "sulphites",
    "strawberries", "kiwi fruit", "bananas", "avocado", "tomatoes", "pollen", "grass pollen", "dust mites",
    "cats", "dogs", "horses", "feathers", "bee stings", "wasp stings", "penicillin", "latex", "nickel",
    "mould", "garlic", "coconut",
)
FLOWERS = (
    "rose", "tulip", "daisy", "sunflower", "lily", "orchid", "daffodil", "peony", "lavender", "poppy",
    "carnation", "chrysanthemum", "dahlia", "hydrangea", "iris", "jasmine", "lilac", "magnolia", "marigold",
    "camellia", "gardenia", "hibiscus", "lotus", "bluebell", "snowdrop", "primrose", "forget-me-not",
    "foxglove", "sweet pea", "geranium", "begonia", "cornflower", "freesia", "gerbera", "anemone", "ranunculus",
    "cherry blossom", "honeysuckle", "wisteria", "bird of paradise", "protea", "edelweiss", "buttercup",
    "hyacinth", "crocus", "zinnia", "cosmos", "petunia", "snapdragon", "gladiolus",
)
FILM_GENRES = (
    "horror films", "romantic comedies", "westerns", "science fiction films", "documentaries", "thrillers",
    "action films", "war films", "musicals", "animated films", "period dramas", "crime dramas", "film noir",
    "fantasy films", "superhero films", "disaster films", "heist films", "spy films", "martial arts films",
    "silent films", "mockumentaries", "courtroom dramas", "road movies", "coming-of-age films", "slasher films",
    "zombie films", "costume dramas", "cult classics", "arthouse films", "black comedies", "psychological thrillers",
    "sports films", "biopics", "teen comedies", "monster movies", "space operas", "spaghetti westerns",
)
ANIMALS = (
    "elephant", "otter", "fox", "wolf", "owl", "penguin", "dolphin", "whale", "giraffe", "zebra", "lion",
    "tiger", "leopard", "cheetah", "panda", "red panda", "koala", "kangaroo", "sloth", "hedgehog", "badger",
    "squirrel", "deer", "moose", "bear", "polar bear", "seal", "sea turtle", "octopus", "jellyfish", "shark",
    "eagle", "hawk", "falcon", "parrot", "flamingo", "peacock", "swan", "hummingbird", "robin", "butterfly",
    "bee", "ladybird", "frog", "axolotl", "chameleon", "gecko", "tortoise", "hippo", "rhino", "gorilla",
    "orangutan", "lemur", "meerkat", "capybara", "llama", "alpaca", "camel", "horse", "donkey", "pig", "goat",
    "raccoon", "lynx", "snow leopard", "walrus", "puffin", "pelican", "crow", "magpie",
)
BOARD_GAMES = (
    "Monopoly", "Scrabble", "Catan", "Ticket to Ride", "Cluedo", "Risk", "Carcassonne", "Pandemic", "Go",
    "backgammon", "Battleship", "Trivial Pursuit", "Dominion", "Azul", "Codenames", "Jenga", "Connect Four",
    "Mahjong", "checkers", "draughts", "Othello", "Stratego", "Splendor", "Wingspan", "Gloomhaven",
    "Terraforming Mars", "Dixit", "Pictionary", "Yahtzee", "Boggle", "Mastermind", "Guess Who",
    "Snakes and Ladders", "Ludo", "Parcheesi", "Diplomacy", "Agricola", "Root", "Everdell", "Cascadia",
    "Patchwork", "Hive", "Kingdomino", "Sushi Go", "Love Letter", "Coup", "Camel Up", "Scythe", "Blokus", "Rummikub",
)


def _surname_candidates() -> list[str]:
    """Faker's last names of every person locale installed (the doctor's surname of a breadth kind)."""
    return sorted({n for loc in _installed("person", PERSON_LOCALES) for n in _last_names(loc)})


# ----------------------------------------------------------------------------------------------------
# Invented names: seeded syllables.

INVENTED_SEED = 20240611
# A name is initial + vowel, then (middle + vowel) per further syllable, then an ending: "Zorvani" is
# z-o, rv-a, n-i; "Tavrick" is t-a, vr-i, ck. Consonants and vowels alternate, so every name can be said.
_INITIALS = (
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "qu", "r", "s", "st",
    "t", "th", "tr", "v", "z", "", "",
)
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "ia", "ae", "ei")
_MIDDLES = (
    "l", "ll", "m", "n", "nd", "nt", "r", "rv", "rk", "rn", "s", "ss", "t", "th", "v", "vr", "z", "lv", "sh",
    "dr", "br", "k", "d", "g", "b", "p", "rr", "lm", "nn",
)
_ENDINGS = ("", "", "", "n", "r", "l", "s", "x", "ck", "th", "nd")


# ----------------------------------------------------------------------------------------------------
# Splits and bases.


def split_of(key: str, shares: tuple[float, float, float] = SPLIT_SHARES) -> str:
    """'train', 'val' or 'test' for a key, from a stable hash (BLAKE2b, the same on every run and machine,
    unlike Python's salted `hash`): the key's hash as a fraction of 2**64 falls in train's share, val's or test's.

    Args:
        key: what decides the split (a value's base, a question's table row).
        shares: fractions of keys in train, val and test (default 70 / 10 / 20); they must sum to 1.
    """
    if len(shares) != 3 or abs(sum(shares) - 1.0) > 1e-9 or min(shares) < 0:
        raise ValueError(f"Split shares must be three non-negative fractions summing to 1, got {shares}.")
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < shares[0]:
        return "train"
    if position < shares[0] + shares[1]:
        return "val"
    return "test"


# Letters NFKD does not decompose into a base letter plus accents.
_UNDECOMPOSED = str.maketrans({
    "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ı": "i", "ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe",
    "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "đ": "d", "Đ": "D", "ə": "e", "Ə": "E", "ħ": "h", "Ħ": "H",
})


def fold(text: str) -> str:
    """Lowercase ASCII-ish form of `text`: accents stripped (NFKD), ł/ø/ß/æ... mapped to their plain letters,
    so "Łukasz", "Lukasz" and "LUKASZ" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_bases(name: str) -> tuple[str, ...]:
    """The bases of a name: the first three letters of each word (words split at spaces and hyphens;
    apostrophes dropped, so "O'Brien" -> "obr"), folded. "Anna-Lena Smith" -> ("ann", "len", "smi")."""
    words = name.replace("-", " ").split()
    return tuple("".join(c for c in fold(word) if c.isalpha())[:3] for word in words)


def name_split(name: str) -> str | None:
    """The split of a name: the split of its bases if they all agree, else None (the name is in no split)."""
    splits = {split_of(base) for base in name_bases(name)}
    return splits.pop() if len(splits) == 1 else None


def validation_value_split(value: str) -> str:
    """The split of a value that only a validation-only kind asks for: the whole value, accents stripped, most of them
    in val (VALIDATION_VALUE_SHARES)."""
    return split_of(fold(value), shares=VALIDATION_VALUE_SHARES)


def whole_split(value: str) -> str:
    """The split of a value whose base is the whole value, folded ("São Paulo" and "Sao Paulo" agree)."""
    return split_of(fold(value))


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; the splits are {', '.join(SPLITS)}.")


def _rng(purpose: str) -> random.Random:
    """A Random seeded from a string through BLAKE2b (stable across runs, unlike seeding with hash())."""
    return random.Random(int.from_bytes(hashlib.blake2b(purpose.encode("utf-8"), digest_size=8).digest(), "big"))


def _mentions_reserved(value: str) -> bool:
    words = value.replace("-", " ").replace("'", " ").split()
    return any(word.casefold() == reserved.casefold() for word in words for reserved in RESERVED_NAMES)


def _partition(candidates: Iterable[str], split_fn: Callable[[str], str | None]) -> dict[str, tuple[str, ...]]:
    """Candidates grouped by split (those in no split, or naming a reserved name, dropped), sorted."""
    by_split: dict[str, set[str]] = {split: set() for split in SPLITS}
    for value in candidates:
        split = split_fn(value)
        if split is not None and not _mentions_reserved(value):
            by_split[split].add(value)
    return {split: tuple(sorted(found)) for split, found in by_split.items()}


# ----------------------------------------------------------------------------------------------------
# Text shape checks.


def _is_latin_letter(char: str) -> bool:
    return char.isalpha() and "LATIN" in unicodedata.name(char, "")


def _is_word(word: str, capitalised: bool) -> bool:
    """Latin letters with internal hyphens or apostrophes; with `capitalised`, every hyphen part starts
    with a capital ("Jean-Luc", "O'Brien", "Ng'ang'a"; not "Ta-tanisha", not "'s-Graveland")."""
    for part in word.split("-"):
        letters = part.replace("'", "")
        if not letters or part[0] == "'" or part[-1] == "'" or "''" in part:
            return False
        if not all(_is_latin_letter(c) for c in letters):
            return False
        if capitalised and not part[0].isupper():
            return False
    return True


def _is_name(text: str, max_words: int = 2) -> bool:
    """A name: capitalised Latin words, single spaces, at most `max_words` words."""
    words = text.split(" ")
    return len(words) <= max_words and all(_is_word(word, capitalised=True) for word in words)


def _is_place(text: str) -> bool:
    """A place name: up to four Latin words, the first capitalised ("Bakov nad Jizerou", "Xi'an")."""
    words = text.split(" ")
    return len(words) <= 4 and all(_is_word(word, capitalised=(i == 0)) for i, word in enumerate(words))


def _is_lower_phrase(text: str, max_words: int = 4) -> bool:
    words = text.split(" ")
    return len(words) <= max_words and all(word.isascii() and word.isalpha() and word.islower() for word in words)


# ----------------------------------------------------------------------------------------------------
# Faker lists.


def _installed(kind: str, locales: tuple[str, ...]) -> tuple[str, ...]:
    """The locales of `locales` that the installed Faker has a `kind` provider for (person, address, job)."""
    return tuple(loc for loc in locales if importlib.util.find_spec(f"faker.providers.{kind}.{loc}") is not None)


@lru_cache(maxsize=None)
def _faker_names(locale: str, attrs: tuple[str, ...]) -> tuple[str, ...]:
    """Single-word names of a person provider's lists `attrs` (tuples, or OrderedDicts of name -> weight),
    stripped, with typographic apostrophes made plain, kept if they are Latin names of 2+ letters."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    found: set[str] = set()
    for attr in attrs:
        listed = getattr(provider, attr, None)
        if isinstance(listed, (tuple, list, dict)):
            found.update(str(name).strip().replace("\u2019", "'") for name in listed)
    return tuple(sorted(n for n in found if " " not in n and len(n) >= 2 and _is_name(n)))


FIRST_NAME_LISTS = ("first_names", "first_names_male", "first_names_female")
LAST_NAME_LISTS = ("last_names", "last_names_male", "last_names_female")


@lru_cache(maxsize=None)
def _first_names(locale: str, attrs: tuple[str, ...] = FIRST_NAME_LISTS) -> tuple[str, ...]:
    """First names of 3+ letters (Faker's 'en' list also holds fragments such as "Ab")."""
    return tuple(n for n in _faker_names(locale, attrs) if len(n.replace("-", "").replace("'", "")) >= 3)


def _last_names(locale: str) -> tuple[str, ...]:
    return _faker_names(locale, LAST_NAME_LISTS)


@lru_cache(maxsize=None)
def _names_by_split(locale: str, attrs: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A locale's first names (attrs FIRST_NAME_LISTS or a gendered list) or last names (LAST_NAME_LISTS), grouped by name_split."""
    names = _last_names(locale) if attrs == LAST_NAME_LISTS else _first_names(locale, attrs)
    grouped: dict[str, list[str]] = {split: [] for split in SPLITS}
    for name in names:
        split = name_split(name)
        if split is not None:
            grouped[split].append(name)
    return {split: tuple(found) for split, found in grouped.items()}


def _style_of(name: str) -> str:
    """The style of a real name: a hyphen or apostrophe first, then non-ASCII letters, then word count."""
    if "-" in name or "'" in name:
        return "hyphen_apostrophe"
    if not name.isascii():
        return "diacritics"
    return "first_last" if " " in name else "first"


@lru_cache(maxsize=None)
def _real_name_words() -> frozenset[str]:
    """Every Faker first and last name of every installed person locale, and every pet name, folded:
    invented names must be none of these."""
    person_providers = importlib.import_module("faker.providers.person")
    words: set[str] = {fold(word) for pet in PET_NAMES for word in pet.split()}
    for info in pkgutil.iter_modules(person_providers.__path__):
        provider = importlib.import_module(f"faker.providers.person.{info.name}").Provider
        for attr in FIRST_NAME_LISTS + LAST_NAME_LISTS:
            listed = getattr(provider, attr, None)
            if isinstance(listed, (tuple, list, dict)):
                words.update(fold(part) for name in listed for part in str(name).replace("-", " ").split())
    return frozenset(words)


# ----------------------------------------------------------------------------------------------------
# Name pools.


def _sample_pairs(
    purpose: str,
    lefts: tuple[str, ...],
    rights: tuple[str, ...],
    count: int,
    joiner: str,
    accept: Callable[[str], bool] = lambda pair: True,
) -> list[str]:
    """Up to `count` distinct "left{joiner}right" pairs (left != right) that `accept` takes, in the order a
    seeded RNG draws them (so a quota takes a random, not an alphabetical, slice)."""
    chosen: dict[str, None] = {}  # insertion-ordered set
    if not lefts or not rights:
        return []
    rng = _rng(purpose)
    for _ in range(count * 20):
        if len(chosen) >= count:
            break
        left, right = rng.choice(lefts), rng.choice(rights)
        pair = f"{left}{joiner}{right}"
        if left != right and accept(pair):
            chosen[pair] = None
    return list(chosen)


def _pair_quota(split: str, per_locale: int) -> int:
    return max(1, round(per_locale * SPLIT_SHARES[SPLITS.index(split)]))


def _real_name_candidates(style: str) -> set[str]:
    """Candidates of one real-name style in all splits. Pairs are drawn from parts of one split at a time,
    so a pair's parts always agree (a pair drawn across splits would be in no split)."""
    locales = _installed("person", PERSON_LOCALES)
    candidates: set[str] = set()
    if style in ("first", "diacritics", "hyphen_apostrophe"):
        candidates.update(n for loc in locales for n in _first_names(loc) if _style_of(n) == style)
    for split in SPLITS:
        quota = _pair_quota(split, PAIRS_PER_LOCALE)
        for loc in locales:
            firsts = _names_by_split(loc, FIRST_NAME_LISTS)[split]
            lasts = _names_by_split(loc, LAST_NAME_LISTS)[split]
            plain_firsts = tuple(n for n in firsts if "-" not in n and "'" not in n)
            if style == "first_last":
                lefts = tuple(n for n in plain_firsts if n.isascii())
                rights = tuple(n for n in lasts if _style_of(n) == "first")
            elif style == "diacritics":
                lefts = plain_firsts
                rights = tuple(n for n in lasts if "-" not in n and "'" not in n)
            elif style == "hyphen_apostrophe":
                lefts, rights = plain_firsts, tuple(n for n in lasts if _style_of(n) == "hyphen_apostrophe")
            else:
                continue
            # Diacritic pairs need a non-ASCII part; the other styles' parts guarantee their shape.
            accept = (lambda pair: _style_of(pair) == "diacritics") if style == "diacritics" else (lambda pair: True)
            candidates.update(_sample_pairs(f"{style}:{loc}:{split}", lefts, rights, quota, " ", accept))
        if style == "hyphen_apostrophe":
            doubles = _pair_quota(split, DOUBLES_PER_LIST)
            for loc in _installed("person", DOUBLE_NAME_LOCALES):
                for attrs in (("first_names_male",), ("first_names_female",)):
                    names = _names_by_split(loc, attrs)[split]
                    short = tuple(n for n in names if n.isascii() and n.isalpha() and len(n) <= 6)
                    candidates.update(_sample_pairs(f"double:{loc}:{attrs[0]}:{split}", short, short, doubles, "-"))
    return candidates


def _invented_candidates() -> list[str]:
    """INVENTED distinct pronounceable names of 2-3 syllables (seeded), none a real name or pet name."""
    rng = random.Random(INVENTED_SEED)
    real = _real_name_words()
    names: dict[str, None] = {}  # insertion-ordered set
    while len(names) < INVENTED:
        name = rng.choice(_INITIALS) + rng.choice(_VOWELS)
        for _ in range(rng.choice((1, 2))):
            name += rng.choice(_MIDDLES) + rng.choice(_VOWELS)
        name = (name + rng.choice(_ENDINGS)).capitalize()
        if 4 <= len(name) <= 9 and fold(name) not in real:
            names[name] = None
    return list(names)


@lru_cache(maxsize=None)
def _person_pools(style: str) -> dict[str, tuple[str, ...]]:
    if style == "invented":
        return _partition(_invented_candidates(), name_split)
    return _partition(_real_name_candidates(style), name_split)


def person_names(style: str, split: str) -> list[str]:
    """Person names of one style in a split, sorted.

    Styles: 'first' (ASCII first names from Faker's lists over many locales), 'first_last' (ASCII first +
    last name of one locale, "Hannah Okafor"), 'diacritics' (non-ASCII Latin letters, "Søren", "José Núñez"),
    'hyphen_apostrophe' ("Jean-Luc", "Liam O'Brien", doubles such as "Anna-Lena" built from one split's
    first names), 'invented' (seeded syllables, "Zorvani", never a real name). Real names are classified
    by shape, so the styles are disjoint; values('person_name', split) is their union.

    Raises:
        ValueError: for an unknown style or split.
    """
    if style not in NAME_STYLES:
        raise ValueError(f"Unknown name style {style!r}; the styles are {', '.join(NAME_STYLES)}.")
    _check_split(split)
    return list(_person_pools(style)[split])


# ----------------------------------------------------------------------------------------------------
# Other pools.


def _city_candidates() -> list[str]:
    """Faker's real city lists plus WORLD_CITIES. Spellings that fold alike ("Timisoara", "Timișoara")
    share a split anyway; the one with more accents is kept, as the proper spelling."""
    names: list[str] = list(WORLD_CITIES)
    for loc in _installed("address", CITY_LOCALES):
        provider = importlib.import_module(f"faker.providers.address.{loc}").Provider
        names.extend(str(c).strip() for c in getattr(provider, "cities", ()))
    best: dict[str, str] = {}
    for name in names:
        if not _is_place(name):
            continue
        key = fold(name)
        current = best.get(key)
        if current is None or (sum(not c.isascii() for c in name), name) > (sum(not c.isascii() for c in current), current):
            best[key] = name
    return list(best.values())


def _country_candidates() -> list[str]:
    provider = importlib.import_module("faker.providers.address.en_US").Provider
    return [c for c in provider.countries if _is_place(c)]


def _job_candidates() -> list[str]:
    """Faker job titles, lowercased, letters and spaces only, at most 4 words; "Accountant, chartered"
    read as "chartered accountant"; plus COMMON_JOBS."""
    titles: set[str] = set(COMMON_JOBS)
    for loc in _installed("job", JOB_LOCALES):
        for job in importlib.import_module(f"faker.providers.job.{loc}").Provider.jobs:
            if job in FAKER_JOB_FRAGMENTS or any(len(word) > 1 and word.isupper() for word in job.split()):
                continue  # fragments, and titles with acronyms ("IT trainer" would read "it trainer")
            parts = [part.strip() for part in job.lower().split(",")]
            title = " ".join(reversed(parts)) if len(parts) == 2 else parts[0] if len(parts) == 1 else ""
            if _is_lower_phrase(title):
                titles.add(title)
    return sorted(titles)


def _employer_split(name: str) -> str | None:
    """An employer's split is its first word's, by the name rule (first three letters), so "Okafor
    Logistics" shares a split with every name or employer whose first word starts with "oka"."""
    return name_split(name.split(" ")[0])


def _employer_candidates() -> set[str]:
    words = set(EMPLOYER_WORDS)
    for loc in _installed("person", EMPLOYER_LOCALES):
        words.update(n for n in _last_names(loc) if n.isascii() and n.isalpha() and len(n) >= 3)
    candidates: set[str] = set()
    for split in SPLITS:
        firsts = tuple(sorted(w for w in words if name_split(w) == split))
        count = _pair_quota(split, EMPLOYERS)
        candidates.update(_sample_pairs(f"employer:{split}", firsts, EMPLOYER_SUFFIXES, count, " "))
    return candidates


def _pet_candidates() -> list[str]:
    """PET_NAMES plus short (3-5 letter) English first names, as people call pets "Max" and "Bella"."""
    short = {n for loc in _installed("person", ("en_US", "en_GB")) for n in _first_names(loc) if n.isalpha() and len(n) <= 5}
    return [n for n in (*PET_NAMES, *sorted(short)) if _is_name(n, max_words=3)]


def _language_candidates() -> list[str]:
    """LANGUAGES plus Faker's language names (single names of letters and spaces, no "... languages")."""
    provider = importlib.import_module("faker.providers.person").Provider
    faker_names = [n for n in getattr(provider, "language_names", ()) if _is_place(n) and "languages" not in n]
    return [*LANGUAGES, *faker_names]


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _birthday_candidates() -> list[str]:
    return [f"{day} {month}" for month, days in zip(MONTHS, DAYS_IN_MONTH) for day in range(1, days + 1)]


_POOLS: dict[str, Callable[[], dict[str, tuple[str, ...]]]] = {
    "person_name": lambda: {s: tuple(sorted({n for st in NAME_STYLES for n in _person_pools(st)[s]})) for s in SPLITS},
    "sibling_name": lambda: _person_pools("first"),
    "pet_name": lambda: _partition(_pet_candidates(), name_split),
    "city": lambda: _partition(_city_candidates(), whole_split),
    "country": lambda: _partition(_country_candidates(), whole_split),
    "job": lambda: _partition(_job_candidates(), whole_split),
    "employer": lambda: _partition(_employer_candidates(), _employer_split),
    "species": lambda: _partition(SPECIES, whole_split),
    "food": lambda: _partition(FOODS, whole_split),
    "colour": lambda: _partition(COLOURS, whole_split),
    "sport": lambda: _partition(SPORTS, whole_split),
    "music": lambda: _partition(MUSIC_GENRES, whole_split),
    # Drinks and gemstones are asked only by kinds never trained that the validation split holds
    # (facts.FactKind.validation_only), so most of them are validation values.
    "drink": lambda: _partition(DRINKS, validation_value_split),
    "gemstone": lambda: _partition(GEMSTONES, validation_value_split),
    "hobby": lambda: _partition(HOBBIES, whole_split),
    "language": lambda: _partition(_language_candidates(), whole_split),
    "age": lambda: _partition((str(age) for age in range(18, 90)), split_of),
    "birthday": lambda: _partition(_birthday_candidates(), split_of),
    # Pools of the breadth kinds only (facts.BREADTH_KINDS, trained only): split like the others all the same.
    "instrument": lambda: _partition(INSTRUMENTS, whole_split),
    "car": lambda: _partition(CAR_MODELS, whole_split),
    "subject": lambda: _partition(SUBJECTS, whole_split),
    "allergen": lambda: _partition(ALLERGENS, whole_split),
    "flower": lambda: _partition(FLOWERS, whole_split),
    "film_genre": lambda: _partition(FILM_GENRES, whole_split),
    "animal": lambda: _partition(ANIMALS, whole_split),
    "board_game": lambda: _partition(BOARD_GAMES, whole_split),
    "number": lambda: _partition((str(n) for n in range(1, 101)), split_of),
    "surname": lambda: _partition(_surname_candidates(), name_split),
}
VALUE_KINDS: tuple[str, ...] = tuple(_POOLS)


@lru_cache(maxsize=None)
def _pool(kind: str) -> dict[str, tuple[str, ...]]:
    return _POOLS[kind]()


def values(kind: str, split: str) -> list[str]:
    """All values of a kind in a split: sorted, deduplicated, the same on every run and machine.

    The three splits of a kind are disjoint, and no value of one split shares a base with a value of
    another (names: the first three letters of each word; employers: of the first word; the rest: the
    whole value, accents stripped). Name-like kinds share the name rule, so a base is in one split for
    person, sibling and pet names alike. "Alice" and "Sarah" are in no split.

    Args:
        kind: one of VALUE_KINDS ('person_name', 'city', 'job', ...).
        split: 'train', 'val' or 'test'.

    Raises:
        ValueError: for an unknown kind or split.
    """
    if kind not in _POOLS:
        raise ValueError(f"Unknown value kind {kind!r}; the kinds are {', '.join(VALUE_KINDS)}.")
    _check_split(split)
    return list(_pool(kind)[split])
