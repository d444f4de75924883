"""Generate a realistic feature-length screenplay in studio's YAML format.

The output is a benchmark input: plausible English built from templates and word
lists, with the proportions of a real feature. At the default 90 minutes that is
about 120 scenes, 30 characters, 20 locations and roughly 10,000 words of dialogue
(a talky page-per-minute script), with action lines between dialogue runs, some
inserts (``focus:``), a few transitions and a music cue on every scene. About 5% of
the scenes carry explicit ``shots:`` (every dialogue beat covered by id, one
``continuity: continuous`` pair) so the explicit path is exercised too; the rest
leave coverage to the planner.

Everything comes from one ``random.Random(seed)``: the same arguments always give
the same screenplay, byte for byte.

Usage::

    python bench/generate_feature.py -o out.yaml --minutes 90 --seed 0 [--characters 30] [--scenes N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

# --------------------------------------------------------------------------- proportions

SCENES_PER_MINUTE = 4 / 3  # 90 minutes -> 120 scenes
DIALOGUE_WORDS_PER_MINUTE = 88  # 90 minutes -> ~8,000 words: planned runtime lands near 90 min
EXPLICIT_SHOT_SHARE = 0.05  # scenes that spell out their shots
SILENT_SCENE_SHARE = 0.05  # scenes with no dialogue at all
TRANSITION_SHARE = 0.10  # scenes that end on a transition (the last always does)
FOCUS_SHARE = 0.25  # action beats between dialogue runs that single out an object

# --------------------------------------------------------------------------- word lists

FEMALE_NAMES = (
    "Mara", "Nina", "Iris", "June", "Elena", "Ruth", "Carmen", "Tess", "Noor", "Ada",
    "Lena", "Grace", "Wren", "Priya", "Hazel", "Maeve", "Rosa", "Dana", "Ines", "Cleo",
    "Vera", "Alma", "Nadia", "Joan", "Lucia", "Freya", "Esther", "Marnie", "Keiko", "Amara",
    "Sofia", "Bea", "Helen", "Lydia", "Talia", "Yara", "Odette", "Frances", "Kit", "Sunny",
)
MALE_NAMES = (
    "Theo", "Sam", "Eli", "Marcus", "Owen", "Felix", "Hugo", "Jonah", "Ravi", "Tomas",
    "Leon", "Abel", "Cal", "Dex", "Isaac", "Jude", "Milo", "Nate", "Oscar", "Pablo",
    "Reuben", "Silas", "Victor", "Walt", "Arlo", "Ben", "Desmond", "Emil", "Gus", "Hank",
    "Kofi", "Luka", "Malik", "Ned", "Otis", "Rafe", "Stellan", "Tariq", "Vince", "Yusuf",
)
SURNAMES = (
    "Quill", "Hale", "Okafor", "Reyes", "Lindqvist", "Moreau", "Castellano", "Brennan", "Nakamura",
    "Adeyemi", "Fairweather", "Kowalski", "Marsh", "Delacroix", "Haddad", "Sorensen", "Vance",
    "Abernathy", "Petrov", "Calloway", "Oduya", "Whitlock", "Ferreira", "Gallagher", "Ishikawa",
    "Mbeki", "Thorne", "Valdez", "Winslow", "Achterberg", "Banerjee", "Crane", "Dunmore", "Eastwick",
)
TITLES = {"f": ("Detective", "Dr.", "Mrs.", "Sister", "Officer"), "m": ("Inspector", "Dr.", "Mr.", "Father", "Sheriff")}
TITLE_ROLES = {"Detective": "a homicide detective", "Dr.": "a hospital doctor",
               "Sister": "a nun who runs the soup kitchen", "Officer": "a patrol officer",
               "Inspector": "a harbour authority inspector", "Father": "a parish priest",
               "Sheriff": "the county sheriff"}

ROLES = (
    "a night-shift nurse", "a retired police detective", "a short-order cook", "a failed novelist",
    "a small-town lawyer", "a long-haul trucker", "a marine biologist", "a high-school teacher",
    "a city councillor", "a locksmith", "a late-night radio host", "a paramedic", "a landlord",
    "an insurance investigator", "a fisherman", "a bookshop owner", "a hotel night manager",
    "a mechanic", "a newspaper reporter", "a parish priest", "a land surveyor", "a bar pianist",
    "a pharmacist", "a bicycle courier", "a wedding photographer", "a bartender", "a dairy farmer",
    "a tow-truck driver", "a museum guard", "an architect", "a ferry captain", "a hospital porter",
)
AGES = ("barely twenty", "in {their} early twenties", "in {their} late twenties", "in {their} thirties",
        "in {their} forties", "in {their} fifties", "in {their} sixties", "in {their} seventies")
HAIR = (
    "short grey hair", "a shaved head", "long red hair tied back", "curly black hair", "a tangle of blond curls",
    "a neat silver bob", "dark hair in a loose braid", "thinning sandy hair", "close-cropped black hair",
    "wild auburn hair", "slicked-back dark hair", "a streak of white in dark hair",
)
CLOTHES = (
    "a faded denim jacket", "a rumpled grey suit", "a yellow rain jacket", "green hospital scrubs",
    "a navy wool sweater", "an oil-stained work shirt", "a long camel coat", "a leather biker jacket",
    "a threadbare cardigan", "a crisp white shirt with rolled sleeves", "a hooded parka", "a black turtleneck",
)
DETAILS = (
    "wire-rimmed glasses", "a silver ring on every finger", "a scar through one eyebrow", "a battered leather satchel",
    "nicotine-stained fingers", "a camera on a strap", "a walking cane", "a wristwatch too big for the wrist",
    "a lanyard full of keys", "chipped red nail polish", "a pencil tucked behind one ear", "a cast on one arm",
)

# (heading, name, reference phrase, interior, description, ambient action lines)
PLACES: tuple[tuple[str, str, str, bool, str, tuple[str, str]], ...] = (
    ("KITCHEN", "Kitchen", "the kitchen", True,
     "a cramped apartment kitchen, chipped yellow tiles, a humming fridge, dishes stacked in the sink",
     ("The fridge hums. A tap drips into the sink.", "A kettle starts to whistle and nobody moves to take it off.")),
    ("ROOFTOP", "Rooftop", "the roof", False,
     "a tar-paper rooftop above the city, water tanks, a low brick parapet, the skyline beyond",
     ("Wind tugs at laundry strung between the water tanks.", "Far below, a siren winds through the streets.")),
    ("TRAIN PLATFORM", "Train platform", "the station", False,
     "an elevated train platform, flickering sodium lights, a yellow safety line, wind off the tracks",
     ("A train thunders through without stopping.", "The departures board clicks over. DELAYED.")),
    ("FOREST ROAD", "Forest road", "the forest road", False,
     "a narrow forest road between tall pines, ruts of mud, a leaning mile marker",
     ("Mist hangs between the pines.", "Headlights sweep the tree trunks and are gone.")),
    ("OFFICE", "Office", "the office", True,
     "an open-plan insurance office, grey cubicles, buzzing fluorescent tubes, a water cooler",
     ("A phone rings somewhere and rings out.", "A fluorescent tube stutters overhead.")),
    ("DINER", "Diner", "the diner", True,
     "an all-night roadside diner, red vinyl booths, a long counter, a pie case under glass",
     ("A waitress tops up coffee nobody ordered.", "The jukebox skips, then finds its groove again.")),
    ("BEACH", "Beach", "the beach", False,
     "a wide pebble beach under chalk cliffs, a rusted lifeguard tower, gulls over the surf",
     ("Waves drag the pebbles back with a long hiss.", "Gulls wheel over the surf, screaming.")),
    ("POLICE STATION", "Police station", "the station house", True,
     "a small-town police station, scuffed linoleum, a holding cell, a corkboard of notices",
     ("A radio crackles on the front desk.", "The holding cell door clangs shut down the hall.")),
    ("HOSPITAL CORRIDOR", "Hospital corridor", "the hospital", True,
     "a hospital corridor at the end of a ward, pale green walls, a vending machine, plastic chairs",
     ("A monitor beeps steadily behind a half-drawn curtain.", "A porter wheels an empty bed past.")),
    ("MOTEL ROOM", "Motel room", "the motel", True,
     "a roadside motel room, twin beds, a wall-mounted television, curtains that never quite close",
     ("Neon from the motel sign bleeds through the curtains.", "The air conditioner rattles and dies.")),
    ("PARKING GARAGE", "Parking garage", "the garage", True,
     "a concrete parking garage, oil stains, buzzing strip lights, echoing ramps",
     ("Footsteps echo somewhere on the level above.", "A car alarm whoops twice and falls silent.")),
    ("HARBOUR", "Harbour", "the harbour", False,
     "a working fishing harbour, stacked lobster pots, coiled ropes, a diesel-stained slipway",
     ("Halyards clink against the masts.", "A trawler's engine coughs into life across the water.")),
    ("BOOKSHOP", "Bookshop", "the bookshop", True,
     "a narrow second-hand bookshop, floor-to-ceiling shelves, a brass bell over the door",
     ("Dust turns in a shaft of light between the shelves.", "The brass bell over the door tinkles.")),
    ("BAR", "Bar", "the bar", True,
     "a dim neighbourhood bar, a jukebox, a pool table with torn felt, neon beer signs",
     ("Pool balls crack at the back of the room.", "The bartender wipes the same glass for the third time.")),
    ("FARMHOUSE PORCH", "Farmhouse porch", "the farm", False,
     "the sagging porch of an old farmhouse, a porch swing, wheat fields running to the horizon",
     ("The porch swing creaks in the wind.", "Wheat ripples all the way to the horizon.")),
    ("CHURCH", "Church", "the church", True,
     "a small stone church, rows of worn pews, candles, light through a stained-glass window",
     ("Candles gutter in a draught.", "Coloured light from the window lies across the pews.")),
    ("CITY PARK", "City park", "the park", False,
     "a city park with a bandstand, bare plane trees, benches and a frozen duck pond",
     ("A jogger passes, breath steaming.", "Pigeons scatter from the bandstand roof.")),
    ("GAS STATION", "Gas station", "the gas station", False,
     "a lonely gas station on a desert highway, two pumps, a flickering sign, a vending machine",
     ("The sign flickers: G S ST TION.", "A tumbleweed rolls across the empty forecourt.")),
    ("LIVING ROOM", "Living room", "the house", True,
     "a cluttered family living room, a sagging sofa, framed photographs, a television on mute",
     ("The television flickers on mute.", "A clock ticks loudly on the mantelpiece.")),
    ("RIVER BRIDGE", "River bridge", "the bridge", False,
     "a steel river bridge, rivets and railings, traffic rushing past, black water below",
     ("Trucks rumble across, shaking the railings.", "The river slides by below, black and fast.")),
    ("HOTEL LOBBY", "Hotel lobby", "the hotel", True,
     "a faded grand hotel lobby, marble floor, potted palms, a brass-railed reception desk",
     ("A bellhop dozes on a stool by the lifts.", "The revolving door turns, empty.")),
    ("WAREHOUSE", "Warehouse", "the warehouse", True,
     "an abandoned riverside warehouse, broken skylights, pigeons, pallets and hanging chains",
     ("Pigeons clatter up into the rafters.", "Water drips through a broken skylight.")),
    ("CEMETERY", "Cemetery", "the cemetery", False,
     "a hillside cemetery, leaning headstones, yew trees, a gravel path down to the gate",
     ("Crows shift in the yew trees.", "Gravel crunches under slow footsteps.")),
    ("BUS DEPOT", "Bus depot", "the depot", True,
     "a draughty city bus depot at the end of the line, idling buses, a ticket window, rows of plastic seats",
     ("A bus idles at the stand, shuddering.", "The ticket window slams shut.")),
    ("LAKESIDE CABIN", "Lakeside cabin", "the cabin", True,
     "a wooden cabin on a lake shore, a wood stove, fishing rods by the door, one window on the water",
     ("The wood stove ticks as it cools.", "Rain patters on the tin roof.")),
    ("SCHOOL GYMNASIUM", "School gymnasium", "the school", True,
     "a school gymnasium, varnished floorboards, folded bleachers, basketball hoops without nets",
     ("A basketball rolls slowly across the empty court.", "The bleachers creak.")),
    ("HIGHWAY SHOULDER", "Highway shoulder", "the highway", False,
     "the shoulder of a rain-slick highway, hazard lights blinking, a guardrail, trucks thundering past",
     ("Hazard lights blink orange on the wet asphalt.", "A truck roars past, its wake rocking the car.")),
    ("LAUNDROMAT", "Laundromat", "the laundromat", True,
     "a late-night laundromat, rows of washing machines, a buzzing neon sign, plastic chairs",
     ("A dryer tumbles someone else's clothes.", "The neon sign buzzes like a trapped fly.")),
    ("COURTHOUSE STEPS", "Courthouse steps", "the courthouse", False,
     "the wide stone steps of the county courthouse, columns, pigeons, a press scrum at the top",
     ("Reporters jostle at the top of the steps.", "A flag snaps on its pole.")),
    ("GREENHOUSE", "Greenhouse", "the greenhouse", True,
     "a glass greenhouse behind a manor house, tomato vines, cracked panes, a potting bench",
     ("Condensation runs down the cracked panes.", "A watering can drips on the potting bench.")),
)

OBJECTS = (
    "the letter", "the brass key", "the photograph", "the revolver", "the ledger", "the cassette tape",
    "the envelope of cash", "the wedding ring", "the map", "the car keys", "the medal", "the notebook",
    "the hospital bracelet", "the train ticket", "the locket", "the phone", "the insurance papers",
    "the old radio", "the deed to the farm", "the hard drive", "the silver lighter", "the postcard",
)
VERBS = (  # (base, past): every pair fits every object
    ("find", "found"), ("hide", "hid"), ("keep", "kept"), ("lose", "lost"), ("sell", "sold"), ("bury", "buried"),
    ("take", "took"), ("bring back", "brought back"), ("give back", "gave back"), ("destroy", "destroyed"),
    ("steal", "stole"), ("return", "returned"),
)
PEOPLE = ("your mother", "the landlord", "my brother", "the sheriff", "the man from the bank", "your father",
          "the new tenant", "my lawyer", "the priest", "that reporter", "your sister", "the night manager")
FUTURE = ("tonight", "tomorrow", "by morning", "before Friday", "at midnight", "by the end of the week",
          "in an hour", "before the funeral", "before the train leaves")
PAST = ("last night", "this morning", "an hour ago", "on Sunday", "at the funeral", "the day you left",
        "before the storm", "the night of the fire")
FEELINGS = ("scared", "angry", "tired", "sorry", "jealous", "ashamed", "lonely", "sure", "ready", "serious", "drunk")
SAYINGS = ("Never trust a calm sea.", "Nothing stays buried.", "Keep your head down and your eyes open.",
           "Family first, always.", "Don't come looking for me.", "Some doors stay shut.", "Everything has a price.",
           "It's later than you think.", "You can't go home again.", "Leave the light on.")
WORDS = ("soon", "handled", "family", "later", "fine", "safe", "temporary", "complicated", "over")

STATEMENTS = (
    "I told you, {O} was never the point.",
    "You can't just {V} {O} and walk away.",
    "Somebody {Vd} {O}, and it wasn't me.",
    "{X} called again {Tp}.",
    "We have to {V} {O} {T}.",
    "I saw {X} at {P}, and they weren't alone.",
    "If {X} finds out about {O}, we're finished.",
    "I'm not angry. I'm just tired of pretending.",
    "I'm not {F}, and I'm not going anywhere.",
    "You always do this, {N}. You make it sound so simple.",
    "Nobody goes out to {P} after dark. Not anymore.",
    "My father used to say, \"{Q}\" I never understood it until now.",
    "{X} said, \"{Q}\" Those were the exact words.",
    "I kept {O} because it was the last thing {X} gave me.",
    "It's not about the money. It was never about the money.",
    "Listen to me. We meet at {P} {T}, and we don't tell anyone.",
    "I've been thinking about what you said {Tp}.",
    "There's a version of this where nobody gets hurt.",
    "You should have seen {P} back then, lights in every window.",
    "I don't trust {X}, and neither should you.",
    "I'm {F}, {N}. Is that what you want to hear?",
    "The last time I went to {P}, I didn't come back for three years.",
    "Everyone in this town knows about {O}. Nobody says a word.",
    "Fine. I'll {V} {O} myself.",
    "We're not leaving without {O}.",
    "I found it at {P}, wrapped in newspaper, under the floorboards.",
    "Whatever happens {T}, you stay behind me.",
    "I'm sorry. I should have told you about {X}.",
    "You don't get to decide that, {N}.",
    "I waited at {P} until the lights went out.",
    "{X} wants {O} back, and {X} doesn't ask twice.",
    "Half of this is yours, whether you like it or not.",
    "I can still hear it, you know, the way the door slammed.",
    "We said we'd {V} {O} together. We promised.",
    "Don't look at me like that.",
    "I was there {Tp}. I saw everything.",
    "It doesn't matter what {X} thinks anymore.",
    "I drove past {P} {Tp}. The lights were on.",
    "You promised me, {N}. You stood right there and promised.",
    "{X} has been asking questions about {O}.",
    "I never wanted any of this, you know that.",
    "Some days I think we should {V} {O} and be done with it.",
    "I kept telling myself it was nothing. It wasn't nothing.",
    "If you go to {P} {T}, I'm coming with you.",
    "The police won't help us, not after what happened {Tp}.",
    "We used to laugh about this, remember?",
    "I know what I saw, {N}.",
    "Mom always said you were the brave one.",
    "I've read it a hundred times, and it still doesn't make sense.",
    "Call it what you like. I call it a mistake.",
    "Let {X} come. I'm done running.",
    "One more night, then we leave for good.",
)
QUESTIONS = (
    "Where were you {Tp}?",
    "Why would {X} {V} {O}?",
    "Did you {V} {O}, or not?",
    "What happened at {P}?",
    "How long have you known about {O}?",
    "Are you {F}?",
    "Who else knows, {N}?",
    "Do you remember what {X} said at {P}?",
    "What do you want me to do, {N}? {V} {O}?",
    "Is that why you came back?",
    "When did you last see {X}?",
    "Can we talk about this somewhere else?",
    "You really think {X} is coming back?",
    "What does \"{W}\" even mean?",
    "Since when do you care about {O}?",
    "Why {P}? Why now?",
    "Does {X} know you're here?",
    "What are you not telling me?",
    "How did you get in here?",
    "Who gave you {O}?",
    "Are we really doing this, {N}?",
    "What if {X} was right all along?",
    "Have you eaten anything today?",
    "Why didn't you call me?",
)
ANSWERS = ("No.", "Yes.", "I don't know.", "Maybe.", "Not yet.", "Because I had to.", "Does it matter?",
           "You know why.", "Ask {X}.", "For a while now.", "Long enough.", "Of course.", "I wish I knew.",
           "Not here.", "Because of {O}.", "Not exactly.", "Would it change anything?")
SHORT_LINES = ("Stop it!", "Get down!", "Don't you dare.", "{N}, wait!", "Not now.", "Look at me.", "Hey.",
               "Okay.", "Right.", "Thank you.", "Go.", "{N}.", "Say that again.", "Unbelievable.")
TAILS = ("Trust me.", "I mean it.", "That's all.", "You know I'm right.", "Think about it.", "Just this once.",
         "Please.", "Honestly.")
PARENTHETICALS = ("quietly", "beat", "whispering", "shouting", "laughing", "softly", "not looking up",
                  "firmly", "sarcastic", "to {N}", "under {their} breath")

OPENINGS = (
    "{A} enters, shaking off the cold.",
    "{A} and {B} arrive together, mid-argument.",
    "{A} waits alone. {B} arrives late and doesn't apologise.",
    "We find {A} already here, staring at nothing.",
    "{A} sits with {their} back to the wall, watching the door. {B} slides in opposite.",
    "{B} is halfway through a cigarette when {A} finds {b_them}.",
)
ACTIONS = (
    "{A} crosses to the window and looks out.",
    "{A} sits down heavily across from {B}.",
    "{B} doesn't answer. {B_they} just watches {A}.",
    "{A} pours two cups of coffee and slides one to {B}.",
    "A long silence. Somewhere outside, a dog barks.",
    "{A} laughs, but there's no warmth in it.",
    "{B} turns away, jaw tight.",
    "{A} checks {their} watch, then the door.",
    "{A} paces. {B} stays very still.",
    "{A} and {B} stand side by side, not looking at each other.",
    "{B} rubs {b_their} eyes with the heels of {b_their} hands.",
    "{A} starts to leave, then stops at the door.",
)
FOCUS_ACTIONS = (
    "{A} picks up {O} and turns it over in {their} hands.",
    "{A} sets {O} on the table between them.",
    "{A} slides {O} across to {B}.",
    "{B} stares at {O} for a long moment.",
    "{A} pockets {O} before anyone notices.",
    "{A} holds up {O}. {B} goes pale.",
)
CLOSINGS = (
    "{A} leaves without another word.",
    "{B} is left alone with the silence.",
    "Neither of them moves.",
    "{A} switches off the light.",
)
TIME_LINES = {
    "dawn": "First light, grey and thin.", "morning": "Morning traffic hums in the distance.",
    "day": "Flat midday light.", "afternoon": "Long afternoon shadows.", "dusk": "The sky bruises purple.",
    "evening": "Lamps come on one by one.", "night": "It's late. Everything is quiet.",
}
TIMES = ("dawn", "morning", "day", "afternoon", "dusk", "evening", "night")
TRANSITIONS = ("CUT TO:", "DISSOLVE TO:", "SMASH CUT TO:", "MATCH CUT TO:")

MOODS = {  # mood -> (tempo range, key quality)
    "tense": ((100, 140), "minor"), "tender": ((60, 80), "major"), "eerie": ((60, 90), "minor"),
    "triumphant": ((100, 132), "major"), "melancholy": ((60, 84), "minor"), "playful": ((104, 140), "major"),
    "mysterious": ((66, 96), "minor"),
}
KEY_ROOTS = ("C", "D", "E", "F", "G", "A", "B", "Bb", "Eb", "F#", "Ab", "C#")
MUSIC_NOTES = ("solo piano", "low strings under the dialogue", "muted brass", "a music-box motif",
               "pulsing synths", "fingerpicked guitar", "sparse percussion", "a lone cello", "the main theme, slower")
TITLE_WORDS = (("Glass", "Last", "Quiet", "Long", "Salt", "Paper", "Iron", "Borrowed", "Lantern", "Winter"),
               ("Harbour", "Road", "Season", "Signal", "Country", "Tide", "Crossing", "Hours", "Lamp", "Ledger"))
LOOKS = ("muted 35mm, soft contrast, sodium-lit nights", "cool naturalistic light, handheld intimacy, fine grain",
         "warm tungsten interiors against cold blue exteriors, anamorphic flares", "bleached daylight, dusty pastels")
ESPEAK_VOICES = {"f": ("en-us+f2", "en-us+f3", "en-us+f4", "en-gb+f2", "en-gb+f3"),
                 "m": ("en-us+m1", "en-us+m3", "en-us+m7", "en-gb+m3", "en-gb+m4")}
PRONOUNS = {"f": ("she", "her", "her"), "m": ("he", "his", "him")}  # subject, possessive, object


# --------------------------------------------------------------------------- helpers


@dataclass
class Person:
    """A character while generating: what the text needs to talk about them."""

    id: str
    name: str
    gender: str
    role: str


@dataclass
class SceneCast:
    speakers: list[str]
    present: list[str]


@dataclass
class SceneContext:
    """What one scene's dialogue keeps coming back to."""

    listener: str = ""
    absent: str = ""
    obj: str = ""
    place: str = ""
    used: set[str] = field(default_factory=set)  # sentences already spoken in the scene


class _Slots(dict[str, str]):
    """A format mapping that invents each slot's value on first use (left to right)."""

    def __init__(self, rng: random.Random, ctx: SceneContext, places: Sequence[str], absent: Sequence[str]) -> None:
        super().__init__()
        self.rng, self.ctx, self.places, self.absent = rng, ctx, places, absent

    def __missing__(self, key: str) -> str:
        rng, ctx = self.rng, self.ctx
        if key in ("V", "Vd"):
            base, past = rng.choice(VERBS)
            self["V"], self["Vd"] = base, past
            return self[key]
        value = {
            "N": lambda: ctx.listener,
            "X": lambda: ctx.absent if rng.random() < 0.6 else rng.choice(self.absent),
            "O": lambda: ctx.obj if rng.random() < 0.7 else rng.choice(OBJECTS),
            "P": lambda: ctx.place if rng.random() < 0.6 else rng.choice(self.places),
            "T": lambda: rng.choice(FUTURE),
            "Tp": lambda: rng.choice(PAST),
            "F": lambda: rng.choice(FEELINGS),
            "Q": lambda: rng.choice(SAYINGS),
            "W": lambda: rng.choice(WORDS),
        }[key]()
        self[key] = value
        return value


def _sentence(text: str) -> str:
    """Capitalise the first letter of every sentence (slots may start one)."""
    return re.sub(r"(^|[.?!]\"? )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _fill(template: str, slots: _Slots) -> str:
    return _sentence(template.format_map(slots))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64] or "x"


def _pronoun_keys(prefix: str, person: Person) -> dict[str, str]:
    they, their, them = PRONOUNS[person.gender]
    return {f"{prefix}they": they, f"{prefix}their": their, f"{prefix}them": them}


def dialogue_words(data: dict[str, Any]) -> int:
    """Words spoken in the whole screenplay."""
    return sum(len(b["line"].split()) for s in data["scenes"] for b in s["beats"] if "speaker" in b)


def summarize(data: dict[str, Any]) -> dict[str, int]:
    """Counts for the CLI's one-line summary (and the tests)."""
    beats = [b for s in data["scenes"] for b in s["beats"]]
    return {
        "scenes": len(data["scenes"]),
        "characters": len(data["characters"]),
        "locations": len(data["locations"]),
        "dialogue_lines": sum(1 for b in beats if "speaker" in b),
        "words": dialogue_words(data),
        "action_beats": sum(1 for b in beats if "action" in b),
        "inserts": sum(1 for b in beats if "focus" in b),
        "explicit_shot_scenes": sum(1 for s in data["scenes"] if "shots" in s),
    }


# --------------------------------------------------------------------------- cast and places


def _make_people(rng: random.Random, count: int) -> list[Person]:
    names = [(n, "f") for n in FEMALE_NAMES] + [(n, "m") for n in MALE_NAMES]
    rng.shuffle(names)
    people: list[Person] = []
    used: set[str] = set()
    for i in range(count):
        first, gender = names[i % len(names)]
        surname = rng.choice(SURNAMES)
        title = rng.choice(TITLES[gender]) if i >= 2 and rng.random() < 0.2 else ""
        titled = bool(title)
        name = f"{title} {surname}" if titled else first
        role = TITLE_ROLES.get(title) or rng.choice(ROLES)
        ident = _slug(surname if titled else first)
        if ident in used:
            ident = _slug(f"{first}-{surname}")
        n = 2
        while ident in used:
            ident, n = _slug(f"{first}-{surname}-{n}"), n + 1
        used.add(ident)
        people.append(Person(ident, name, gender, role))
    return people


def _character(rng: random.Random, person: Person) -> dict[str, Any]:
    their = PRONOUNS[person.gender][1]
    description = (f"{person.role} {rng.choice(AGES).format(their=their)}, {rng.choice(HAIR)}, "
                   f"{rng.choice(CLOTHES)}, {rng.choice(DETAILS)}")
    voice: dict[str, Any] = {"engine": "espeak-ng" if rng.random() < 0.4 else "piper"}
    if voice["engine"] == "espeak-ng":
        voice["voice"] = rng.choice(ESPEAK_VOICES[person.gender])
    voice["rate"] = round(rng.uniform(0.9, 1.1), 2)
    voice["pitch"] = rng.randint(-3, 1) if person.gender == "m" else rng.randint(-1, 3)
    voice["seed"] = rng.randint(1, 9999)
    return {"id": person.id, "name": person.name, "description": description, "voice": voice}


def _location_count(n_scenes: int) -> int:
    return max(1, min(25, n_scenes, round(6 + n_scenes / 8.5)))


def _locations(rng: random.Random, count: int) -> list[dict[str, Any]]:
    picks = rng.sample(range(len(PLACES)), min(count, len(PLACES)))
    out = []
    for n, p in enumerate(picks, 1):
        _heading, name, _ref, interior, description, _ambient = PLACES[p]
        out.append({"id": f"loc-{n:02d}", "name": name, "description": description, "interior": interior,
                    "_place": p})
    return out


def _scene_locations(rng: random.Random, n_scenes: int, n_locations: int) -> list[int]:
    """Every location once, the rest weighted toward a few 'home' locations; no repeats back to back."""
    weights = [1.0 / (i + 1) ** 0.7 for i in range(n_locations)]
    order = list(range(n_locations)) + rng.choices(range(n_locations), weights, k=n_scenes - n_locations)
    rng.shuffle(order)
    for i in range(1, len(order)):
        if order[i] == order[i - 1]:
            j = next((k for k in range(i + 1, len(order)) if order[k] != order[i - 1]), None)
            if j is not None:
                order[i], order[j] = order[j], order[i]
    return order


def _cast(rng: random.Random, people: list[Person], n_scenes: int, silent: set[int]) -> list[SceneCast]:
    """2-4 characters per scene, leads most often; everyone speaks somewhere if the film is big enough."""
    ids = [p.id for p in people]
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(ids))]
    casts: list[SceneCast] = []
    for _ in range(n_scenes):
        size = min(len(ids), rng.choices((2, 3, 4), (45, 35, 20))[0])
        chosen: list[str] = []
        while len(chosen) < size:
            pick = rng.choices(ids, weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        n_speakers = 2 if size == 2 else rng.choice((2, 3))
        casts.append(SceneCast(speakers=chosen[:n_speakers], present=chosen))
    _ensure_everyone_speaks(rng, ids, casts, silent)
    return casts


def _ensure_everyone_speaks(rng: random.Random, ids: list[str], casts: list[SceneCast], silent: set[int]) -> None:
    """Swap each character who never speaks into a scene, replacing a speaker who speaks elsewhere too."""
    open_scenes = [i for i in range(len(casts)) if i not in silent]
    speaks: dict[str, int] = {}
    for i in open_scenes:
        for c in casts[i].speakers:
            speaks[c] = speaks.get(c, 0) + 1
    rng.shuffle(open_scenes)
    for ident in ids:
        if ident in speaks:
            continue
        pick = next((i for i in open_scenes if speaks[casts[i].speakers[-1]] > 1), None)
        if pick is None:
            return  # more characters than the scenes can give lines to
        open_scenes.remove(pick)
        cast = casts[pick]
        if ident in cast.present:
            cast.present.remove(ident)
        old = cast.speakers[-1]
        cast.speakers[-1] = ident
        cast.present[cast.present.index(old)] = ident
        speaks[old] -= 1
        speaks[ident] = 1


def _times(rng: random.Random, n_scenes: int) -> list[str]:
    """A story clock: each scene stays at or moves on from the last time of day."""
    clock = rng.randrange(len(TIMES))
    out = []
    for _ in range(n_scenes):
        out.append(TIMES[clock % len(TIMES)])
        clock += rng.choices((0, 1, 2, 3), (15, 45, 30, 10))[0]
    return out


def _music(rng: random.Random) -> dict[str, Any]:
    mood = rng.choice(list(MOODS))
    (low, high), quality = MOODS[mood]
    cue: dict[str, Any] = {"mood": mood, "tempo": rng.randint(low, high), "key": f"{rng.choice(KEY_ROOTS)} {quality}"}
    if rng.random() < 0.3:
        cue["description"] = rng.choice(MUSIC_NOTES)
    return cue


# --------------------------------------------------------------------------- scene text


def _pick(rng: random.Random, pool: Sequence[str], used: set[str]) -> str:
    """A template from the pool, avoiding ones the scene already used (a few tries)."""
    choice = rng.choice(pool)
    for _ in range(4):
        if choice not in used:
            break
        choice = rng.choice(pool)
    used.add(choice)
    return choice


def _line(rng: random.Random, slots: _Slots, after_question: bool) -> str:
    """One speech: an answer if asked, one to three sentences, sometimes a tail."""
    used = slots.ctx.used
    if rng.random() < 0.1:
        return _fill(_pick(rng, SHORT_LINES, used), slots)
    parts = [_pick(rng, ANSWERS, used)] if after_question and rng.random() < 0.7 else []
    for _ in range(rng.choices((1, 2, 3), (55, 35, 10))[0]):
        parts.append(_pick(rng, QUESTIONS if rng.random() < 0.3 else STATEMENTS, used))
    if rng.random() < 0.1:
        parts.append(_pick(rng, TAILS, used))
    return _fill(" ".join(parts), slots)


def _next_speaker(rng: random.Random, speakers: list[str], last: str | None) -> str:
    if last is None:
        return speakers[0]
    if rng.random() < 0.08:
        return last  # a run: the same speaker again
    others = [s for s in speakers if s != last]
    return rng.choices(others, [3 if s in speakers[:2] else 1 for s in others])[0]


def _action_keys(rng: random.Random, cast: SceneCast, people: dict[str, Person], lead: bool) -> dict[str, str]:
    a_id = cast.speakers[0] if lead else rng.choice(cast.speakers)
    others = [c for c in cast.present if c != a_id] or [a_id]
    b_id = others[0] if lead else rng.choice(others)
    a, b = people[a_id], people[b_id]
    keys = {"A": a.name, "B": b.name}
    keys.update(_pronoun_keys("", a))
    keys.update(_pronoun_keys("b_", b))
    keys["B_they"] = PRONOUNS[b.gender][0].capitalize()
    return keys


def _action(rng: random.Random, templates: Sequence[str], cast: SceneCast, people: dict[str, Person],
            slots: _Slots, lead: bool = False) -> str:
    keys = _action_keys(rng, cast, people, lead)
    return _sentence(_pick(rng, templates, slots.ctx.used).format_map({**slots, **keys, "O": slots.ctx.obj}))


def _dialogue_beat(rng: random.Random, speaker: Person, slots: _Slots, after_question: bool,
                   after_action: bool, continuing: bool) -> dict[str, Any]:
    beat: dict[str, Any] = {"speaker": speaker.id, "line": _line(rng, slots, after_question)}
    roll = rng.random()
    if roll < 0.12:
        keys = {"N": slots.ctx.listener, "their": PRONOUNS[speaker.gender][1]}
        beat["parenthetical"] = rng.choice(PARENTHETICALS).format_map(keys)
    if continuing and after_action:
        beat["extension"] = "CONT'D"
    elif rng.random() < 0.02:
        beat["extension"] = "O.S."
    return beat


def _scene_beats(rng: random.Random, cast: SceneCast, people: dict[str, Person], place: int,
                 time_of_day: str, word_budget: int, slots: _Slots) -> list[dict[str, Any]]:
    """Opening action, dialogue runs with action between them, maybe a closing action."""
    ambient = PLACES[place][5]
    beats: list[dict[str, Any]] = [{"action": f"{TIME_LINES[time_of_day]} {rng.choice(ambient)}"}]
    beats.append({"action": _action(rng, OPENINGS, cast, people, slots, lead=True)})
    words, last, run, run_length = 0, None, 0, rng.randint(2, 6)
    after_question, after_action = False, False
    while words < word_budget - 6:
        if run >= run_length:
            beats.append(_mid_action(rng, cast, people, slots))
            run, run_length, after_action = 0, rng.randint(2, 6), True
        speaker = _next_speaker(rng, cast.speakers, last)
        slots.ctx.listener = people[next((s for s in cast.speakers if s != speaker), speaker)].name
        beat = _dialogue_beat(rng, people[speaker], _fresh(slots), after_question, after_action, speaker == last)
        beats.append(beat)
        words += len(beat["line"].split())
        after_question, after_action, last, run = beat["line"].endswith("?"), False, speaker, run + 1
    if rng.random() < 0.35:
        beats.append({"action": _action(rng, CLOSINGS, cast, people, slots)})
    return beats


def _mid_action(rng: random.Random, cast: SceneCast, people: dict[str, Person], slots: _Slots) -> dict[str, Any]:
    if rng.random() < FOCUS_SHARE:
        return {"action": _action(rng, FOCUS_ACTIONS, cast, people, slots), "focus": slots.ctx.obj}
    return {"action": _action(rng, ACTIONS, cast, people, slots)}


def _fresh(slots: _Slots) -> _Slots:
    """New slot values for each speech, same scene context."""
    return _Slots(slots.rng, slots.ctx, slots.places, slots.absent)


# --------------------------------------------------------------------------- explicit shots


def _explicit_shots(rng: random.Random, scene_id: str, beats: list[dict[str, Any]],
                    cast: SceneCast) -> list[dict[str, Any]]:
    """Give beats ids and spell out coverage: wide, a continuous push-in, then one shot per
    speech run (or insert); every dialogue beat is covered exactly once."""
    for n, beat in enumerate(beats, 1):
        if "transition" not in beat:
            beats[n - 1] = {"id": f"{scene_id}-b{n:02d}", **beat}
    shots: list[dict[str, Any]] = []

    def shot(size: str, subjects: list[str], covers: list[str], move: str | None = None, **extra: Any) -> None:
        spec: dict[str, Any] = {"id": f"{scene_id}-sh{len(shots) + 1:02d}", "size": size}
        if move:
            spec["move"] = move
        spec["subjects"] = subjects
        spec.update(extra)
        if covers:
            spec["covers"] = covers
        shots.append(spec)

    first = beats[0]
    shot("wide", list(cast.present), [first["id"]], move=rng.choice(("crane-down", "pan-right", "static")),
         duration=4, description=first["action"])
    shot("medium", [cast.speakers[0]], [], move="dolly-in", continuity="continuous", duration=3,
         description="The same unbroken move carries on and settles on the first speaker.")
    sizes = ("close-up", "medium-close-up", "medium", "close-up")
    i, first_speech = 1, True
    while i < len(beats):
        beat = beats[i]
        if "transition" in beat:
            i += 1
        elif "action" in beat:
            if "focus" in beat:
                shot("insert", [], [beat["id"]], description=beat["focus"])
            else:
                shot("medium-wide", list(cast.present), [beat["id"]], move=rng.choice(("static", "handheld", "pan")))
            i += 1
        else:
            run = [beat]
            while i + len(run) < len(beats) and beats[i + len(run)].get("speaker") == beat["speaker"]:
                run.append(beats[i + len(run)])
            listener = next((c for c in cast.speakers if c != beat["speaker"]), beat["speaker"])
            if first_speech:
                shot("over-the-shoulder", [beat["speaker"], listener], [b["id"] for b in run])
            else:
                shot(rng.choice(sizes), [beat["speaker"]], [b["id"] for b in run])
            first_speech = False
            i += len(run)
    return shots


# --------------------------------------------------------------------------- the film


def _scene_count(minutes: float, scenes: int | None) -> int:
    if scenes is not None:
        if scenes < 1:
            raise ValueError("scenes must be at least 1")
        return scenes
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    return max(1, round(minutes * SCENES_PER_MINUTE))


def _word_budgets(rng: random.Random, total: int, n_scenes: int, silent: set[int]) -> list[int]:
    weights = [0.0 if i in silent else rng.uniform(0.5, 1.5) for i in range(n_scenes)]
    scale = total / (sum(weights) or 1.0)
    return [round(w * scale) for w in weights]


def _film(rng: random.Random, seed: int, resolution: str, fps: int) -> dict[str, Any]:
    title = f"The {rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])}"
    return {
        "title": title, "fps": fps, "resolution": resolution, "look": rng.choice(LOOKS),
        "negative": "blurry, distorted faces, extra fingers, text, watermark", "seed": seed % 2**32,
        "title_cards": False, "render": {"backend": "animatic"},
    }


def generate_feature(*, minutes: float = 90, scenes: int | None = None, characters: int = 30, seed: int = 0,
                     resolution: str = "854x480", fps: int = 24) -> dict[str, Any]:
    """A screenplay as plain data, valid for ``Screenplay.model_validate``; deterministic for its arguments."""
    if characters < 2:
        raise ValueError("characters must be at least 2 (dialogue needs two people)")
    rng = random.Random(seed)
    n_scenes = _scene_count(minutes, scenes)
    film = _film(rng, seed, resolution, fps)
    people = _make_people(rng, characters)
    by_id = {p.id: p for p in people}
    locations = _locations(rng, _location_count(n_scenes))
    n_silent = round(n_scenes * SILENT_SCENE_SHARE) if n_scenes >= 10 else 0
    silent = set(rng.sample(range(1, n_scenes), n_silent)) if n_silent else set()
    casts = _cast(rng, people, n_scenes, silent)
    where = _scene_locations(rng, n_scenes, len(locations))
    times = _times(rng, n_scenes)
    budgets = _word_budgets(rng, round(minutes * DIALOGUE_WORDS_PER_MINUTE), n_scenes, silent)
    place_refs = [PLACES[loc["_place"]][2] for loc in locations]
    width = max(3, len(str(n_scenes)))
    out_scenes = []
    for i in range(n_scenes):
        loc = locations[where[i]]
        absent = [p.name for p in people if p.id not in casts[i].present] + list(PEOPLE)
        ctx = SceneContext(absent=rng.choice(absent), obj=rng.choice(OBJECTS), place=rng.choice(place_refs))
        slots = _Slots(rng, ctx, place_refs, absent)
        scene_id = f"s{i + 1:0{width}d}"
        heading = f"{'INT' if loc['interior'] else 'EXT'}. {PLACES[loc['_place']][0]} - {times[i].upper()}"
        beats = _scene_beats(rng, casts[i], by_id, loc["_place"], times[i], budgets[i], slots)
        if i == n_scenes - 1:
            beats.append({"transition": "FADE OUT."})
        elif rng.random() < TRANSITION_SHARE:
            beats.append({"transition": rng.choice(TRANSITIONS)})
        out_scenes.append({"id": scene_id, "heading": heading, "location": loc["id"], "time": times[i],
                           "characters": list(casts[i].present), "music": _music(rng), "beats": beats})
    _add_explicit_shots(rng, out_scenes, casts, silent)
    return {
        "version": 1,
        "film": film,
        "characters": [_character(rng, p) for p in people],
        "locations": [{k: v for k, v in loc.items() if not k.startswith("_")} for loc in locations],
        "scenes": out_scenes,
    }


def _add_explicit_shots(rng: random.Random, scenes: list[dict[str, Any]], casts: list[SceneCast],
                        silent: set[int]) -> None:
    candidates = [i for i in range(1, len(scenes)) if i not in silent] or [0]
    count = min(len(candidates), max(1, round(len(scenes) * EXPLICIT_SHOT_SHARE)))
    for i in sorted(rng.sample(candidates, count)):
        scene = scenes[i]
        beats = scene.pop("beats")
        shots = _explicit_shots(rng, scene["id"], beats, casts[i])
        scene["shots"], scene["beats"] = shots, beats  # shots first, as in the examples


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_feature(path: str | Path, **kw: Any) -> dict[str, Any]:
    """Generate (``generate_feature(**kw)``) and write the screenplay as YAML; return the data."""
    data = generate_feature(**kw)
    Path(path).write_text(to_yaml(data), encoding="utf-8")
    return data


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, help="where to write the YAML ('-' for stdout)")
    parser.add_argument("--minutes", type=float, default=90, help="running time (default 90)")
    parser.add_argument("--scenes", type=int, default=None, help="scene count (default minutes * 4/3)")
    parser.add_argument("--characters", type=int, default=30, help="number of characters (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", default="854x480")
    parser.add_argument("--fps", type=int, default=24)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate_feature(minutes=args.minutes, scenes=args.scenes, characters=args.characters, seed=args.seed,
                            resolution=args.resolution, fps=args.fps)
    text = to_yaml(data)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    s = summarize(data)
    print(f"{args.output}: {s['scenes']} scenes, {s['characters']} characters, {s['locations']} locations, "
          f"{s['dialogue_lines']} dialogue lines, {s['words']} words, {s['inserts']} inserts, "
          f"{s['explicit_shot_scenes']} explicit-shot scenes ({time.perf_counter() - start:.2f} s)",
          file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
