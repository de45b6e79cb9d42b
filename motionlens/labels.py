"""Label sets shipped with motionlens: Kinetics-400 class names and the AVA v2.2 action list.

The files live in ``motionlens/resources`` and are read with ``importlib.resources`` so they
work from an installed wheel as well as from a source checkout.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from .core.errors import MotionlensError

# Data tables: packed lines read better than one item per line.
# fmt: off
# The 60 AVA ids scored in the ActivityNet/AVA challenge (ava_action_list_v2.2_for_activitynet_2019);
# the 20 left out are too rare to evaluate (crawl, brush teeth, kick (a person), ...).
AVA_EVAL60_IDS: tuple[int, ...] = (
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34, 36, 37, 38, 41,
    43, 45, 46, 47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 72, 73,
    74, 76, 77, 78, 79, 80,
)

# A hand grouping of all 400 Kinetics-400 classes (no published grouping was available to copy;
# the Kinetics paper's 38 parent classes are not distributed as a file). Every class is in
# exactly one group; tests check that the groups partition the 400 names.
_KINETICS400_GROUPS: dict[str, tuple[str, ...]] = {
    "sports": (
        "abseiling", "archery", "arm wrestling", "bobsledding", "bowling", "bungee jumping",
        "canoeing or kayaking", "capoeira", "cartwheeling", "catching or throwing baseball",
        "catching or throwing frisbee", "catching or throwing softball", "cheerleading", "clean and jerk",
        "disc golfing", "diving cliff", "dodgeball", "dribbling basketball", "drop kicking",
        "dunking basketball", "golf chipping", "golf driving", "golf putting", "gymnastics tumbling",
        "hammer throw", "high jump", "high kick", "hitting baseball", "hockey stop", "hurdling",
        "hurling (sport)", "ice climbing", "ice skating", "javelin throw", "jetskiing",
        "juggling soccer ball", "kicking field goal", "kicking soccer ball", "kitesurfing", "long jump",
        "paragliding", "parasailing", "parkour", "passing American football (in game)",
        "passing American football (not in game)", "playing badminton", "playing basketball",
        "playing cricket", "playing ice hockey", "playing kickball", "playing paintball",
        "playing squash or racquetball", "playing tennis", "playing volleyball", "pole vault",
        "punching person (boxing)", "riding mountain bike", "rock climbing", "roller skating", "sailing",
        "scuba diving", "shooting basketball", "shooting goal (soccer)", "shot put", "side kick",
        "skateboarding", "ski jumping", "skiing (not slalom or crosscountry)", "skiing crosscountry",
        "skiing slalom", "skydiving", "slacklining", "sled dog racing", "snatch weight lifting",
        "snorkeling", "snowboarding", "snowkiting", "somersaulting", "springboard diving", "surfing water",
        "swimming backstroke", "swimming breast stroke", "swimming butterfly stroke", "sword fighting",
        "throwing axe", "throwing ball", "throwing discus", "tobogganing", "trapezing", "triple jump",
        "vault", "water skiing", "windsurfing", "wrestling",
    ),
    "fitness": (
        "bench pressing", "bending back", "climbing a rope", "deadlifting", "doing aerobics",
        "exercising arm", "exercising with an exercise ball", "front raises", "jogging", "lunge", "pull ups",
        "punching bag", "push up", "running on treadmill", "situp", "skipping rope", "squat",
        "stretching arm", "stretching leg", "tai chi", "yoga",
    ),
    "dance": (
        "belly dancing", "breakdancing", "country line dancing", "dancing ballet", "dancing charleston",
        "dancing gangnam style", "dancing macarena", "jumpstyle dancing", "krumping", "robot dancing",
        "salsa dancing", "swing dancing", "tango dancing", "tap dancing", "zumba",
    ),
    "music": (
        "air drumming", "beatboxing", "busking", "headbanging", "playing accordion", "playing bagpipes",
        "playing bass guitar", "playing cello", "playing clarinet", "playing cymbals", "playing didgeridoo",
        "playing drums", "playing flute", "playing guitar", "playing harmonica", "playing harp",
        "playing keyboard", "playing organ", "playing piano", "playing recorder", "playing saxophone",
        "playing trombone", "playing trumpet", "playing ukulele", "playing violin", "playing xylophone",
        "recording music", "singing", "strumming guitar", "surfing crowd", "tapping guitar", "whistling",
    ),
    "food_and_drink": (
        "baking cookies", "barbequing", "bartending", "breading or breadcrumbing", "cooking chicken",
        "cooking egg", "cooking on campfire", "cooking sausages", "cutting pineapple", "cutting watermelon",
        "dining", "drinking", "drinking beer", "drinking shots", "eating burger", "eating cake",
        "eating carrots", "eating chips", "eating doughnuts", "eating hotdog", "eating ice cream",
        "eating spaghetti", "eating watermelon", "flipping pancake", "frying vegetables", "grinding meat",
        "making a cake", "making a sandwich", "making pizza", "making sushi", "making tea", "opening bottle",
        "peeling apples", "peeling potatoes", "scrambling eggs", "stomping grapes", "tasting beer",
        "tasting food", "tossing salad",
    ),
    "household": (
        "assembling computer", "blasting sand", "blowing leaves", "building cabinet", "building shed",
        "changing oil", "changing wheel", "checking tires", "chopping wood", "cleaning floor",
        "cleaning gutters", "cleaning pool", "cleaning shoes", "cleaning toilet", "cleaning windows",
        "climbing ladder", "decorating the christmas tree", "digging", "doing laundry", "extinguishing fire",
        "folding clothes", "folding napkins", "garbage collecting", "ironing", "laying bricks", "making bed",
        "mopping floor", "moving furniture", "mowing lawn", "picking fruit", "planting trees", "plastering",
        "pushing cart", "sanding floor", "setting table", "sharpening knives", "shining shoes",
        "shoveling snow", "shredding paper", "spraying", "sweeping floor", "trimming trees",
        "unloading truck", "washing dishes", "watering plants", "welding",
    ),
    "personal_care": (
        "applying cream", "bandaging", "blowing nose", "braiding hair", "brushing hair", "brushing teeth",
        "cracking neck", "curling hair", "cutting nails", "doing nails", "dying hair", "filling eyebrows",
        "fixing hair", "gargling", "getting a haircut", "getting a tattoo", "massaging back",
        "massaging feet", "massaging legs", "massaging person's head", "shaving head", "shaving legs",
        "sneezing", "sniffing", "taking a shower", "trimming or shaving beard", "tying bow tie", "tying tie",
        "washing feet", "washing hair", "washing hands", "waxing back", "waxing chest", "waxing eyebrows",
        "waxing legs", "yawning",
    ),
    "social": (
        "answering questions", "applauding", "auctioning", "baby waking up", "blowing out candles",
        "carrying baby", "celebrating", "clapping", "counting money", "crawling baby", "crying",
        "drumming fingers", "finger snapping", "giving or receiving award", "headbutting", "hugging",
        "kissing", "laughing", "marching", "news anchoring", "opening present",
        "presenting weather forecast", "pumping fist", "shaking hands", "shaking head",
        "sign language interpreting", "slapping", "sticking tongue out", "tapping pen", "testifying",
        "texting", "tickling", "waiting in line",
    ),
    "arts_and_crafts": (
        "arranging flowers", "bending metal", "blowing glass", "bookbinding", "brush painting",
        "carving pumpkin", "clay pottery making", "drawing", "folding paper", "knitting", "making jewelry",
        "sharpening pencil", "spray painting", "tying knot (not on a tie)", "weaving basket",
        "wrapping present", "writing",
    ),
    "travel_and_outdoors": (
        "biking through snow", "catching fish", "climbing tree", "crossing river", "driving car",
        "driving tractor", "hoverboarding", "ice fishing", "motorcycling", "pumping gas", "pushing car",
        "pushing wheelchair", "riding a bike", "riding camel", "riding elephant", "riding mule",
        "riding or walking with horse", "riding scooter", "snowmobiling", "using segway",
    ),
    "animals": (
        "bee keeping", "feeding birds", "feeding fish", "feeding goats", "grooming dog", "grooming horse",
        "holding snake", "milking cow", "petting animal (not cat)", "petting cat", "shearing sheep",
        "training dog", "walking the dog",
    ),
    "leisure": (
        "balloon blowing", "bouncing on trampoline", "contact juggling", "egg hunting", "faceplanting",
        "flying kite", "hopscotch", "hula hooping", "juggling balls", "juggling fire", "jumping into pool",
        "making snowman", "playing cards", "playing chess", "playing controller", "playing monopoly",
        "playing poker", "reading book", "reading newspaper", "riding mechanical bull", "riding unicycle",
        "ripping paper", "rock scissors paper", "shuffling cards", "smoking", "smoking hookah",
        "spinning poi", "swinging legs", "swinging on something", "tossing coin", "unboxing",
        "using computer", "using remote controller (not gaming)", "water sliding",
    ),
}
# fmt: on


def _read_resource(name: str) -> list[str]:
    text = resources.files("motionlens").joinpath("resources", name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


@lru_cache(maxsize=None)
def _kinetics400() -> tuple[str, ...]:
    return tuple(_read_resource("kinetics400_classes.txt"))


@lru_cache(maxsize=None)
def _ava() -> dict[int, str]:
    actions = {}
    for line in _read_resource("ava_actions.txt"):
        action_id, name = line.split("\t", 1)
        actions[int(action_id)] = name
    return actions


def kinetics400_classes() -> list[str]:
    """The 400 Kinetics-400 class names in label-index order (torchvision and PyTorchVideo order)."""
    return list(_kinetics400())


def kinetics400_categories() -> dict[str, list[str]]:
    """A grouping of the 400 Kinetics classes into 12 categories, including ``"sports"``.

    This is a hand grouping made for motionlens (no published grouping was found to reuse); each
    class is in exactly one category and names keep the Kinetics label-index order.
    """
    order = {name: i for i, name in enumerate(_kinetics400())}
    return {group: sorted(names, key=order.__getitem__) for group, names in _KINETICS400_GROUPS.items()}


def kinetics_sport_classes() -> list[str]:
    """The Kinetics-400 classes of the ``"sports"`` category, in label-index order."""
    return kinetics400_categories()["sports"]


def ava_actions(eval60: bool = False) -> dict[int, str]:
    """AVA v2.2 actions as ``{id: name}`` (ids 1..80); ``eval60=True`` keeps the 60 scored ones."""
    actions = dict(_ava())
    if eval60:
        actions = {i: actions[i] for i in AVA_EVAL60_IDS}
    return actions


def ava_action_id(name_or_id: str | int) -> int:
    """The AVA id of an action given as its id (``64`` or ``"64"``) or its exact name."""
    actions = _ava()
    text = str(name_or_id).strip()
    if text.isdigit() and int(text) in actions:
        return int(text)
    for action_id, name in actions.items():
        if name == text:
            return action_id
    raise MotionlensError(
        f"unknown AVA action {name_or_id!r}: give an id 1..80 or an exact name such as "
        f"'fight/hit (a person)' (see motionlens.labels.ava_actions())"
    )
