"""Decide whether a product is jewelry Worn can render, and which kind, with the reason in words.

Order of evidence: the shop's own rules (its house style) when one matches, then Shopify's taxonomy category
(`aa-6-*`), then the product type, the tags and the title, read for the common words of several languages
(EN, FR, ES, DE, IT, PT, NL). Words are matched whole, after phrases that only look like jewelry ("key ring",
"ring light", "pendant lamp", "coat hanger", ...) are taken out. The style then limits the outcome: a kind it
leaves out, or one no active plate carries, is skipped with that reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from connector.snapshot import ProductSnapshot
from connector.styles import HouseStyle, JewelryRule

TAXONOMY = "gid://shopify/TaxonomyCategory/"
JEWELRY_CATEGORY = "aa-6"

# Shopify taxonomy (Apparel & Accessories > Jewelry > ...): the kind Worn renders, or the name of a kind of
# jewelry it does not render.
_CATEGORY_KINDS = {
    "aa-6-1": "anklet",
    "aa-6-3": "bracelet",
    "aa-6-5": "pendant",
    "aa-6-6": "earrings",
    "aa-6-8": "necklace",
    "aa-6-9": "ring",
}
_CATEGORY_UNSUPPORTED = {
    "aa-6-2": "body jewelry",
    "aa-6-4": "brooches and lapel pins",
    "aa-6-7": "jewelry sets",
    "aa-6-10": "watch accessories",
    "aa-6-11": "watches",
    "aa-6-12": "smart watches",
}

# When one text names several kinds, the more specific wins: a "pendant necklace" is a pendant, a "charm
# bracelet" a bracelet, "bracelet de cheville" an anklet, a "chain ring" a ring.
PRIORITY = ("anklet", "earrings", "bracelet", "ring", "pendant", "necklace")

# Words are written lowercase without accents (text is folded the same way); "(?:...)" groups plurals.
WORDS: dict[str, tuple[str, ...]] = {
    "necklace": (
        # en
        # en
        r"necklaces?",
        r"chokers?",
        r"lariats?",
        # fr
        r"colliers?",
        r"sautoirs?",
        r"ras[ -]de[ -]cou",
        # es
        r"collar(?:es)?",
        r"gargantillas?",
        # de (and common compounds: German writes them as one word)
        r"(?:hals|gold|silber|perlen|glieder|panzer|kugel|anker|konigs|schlangen|erbs|venezianer)ketten?",
        # it
        r"collan[ae]",
        r"girocoll[oi]",
        # pt
        r"colar(?:es)?",
        r"gargantilhas?",
        # nl
        r"kettingen",
        r"ketting(?:s|je|jes)?",
    ),
    "pendant": (
        r"pendants?",
        r"lockets?",
        r"medallions?",
        r"pendentifs?",
        r"medailles?",
        r"colgantes?",
        r"medallas?",
        r"dijes?",
        r"(?:herz|kreuz|buchstaben|namens|gold|silber|ketten)?anhanger",
        r"medaillons?",
        r"ciondol[oi]",
        r"pendente",
        r"medagli[ae]",
        r"pingentes?",
        r"medalhas?",
        r"hangers?",
        r"hangertje",
    ),
    "earrings": (
        r"earrings?",
        r"ear[ -]?rings?",
        r"ear (?:studs?|cuffs?|climbers?|jackets?)",
        r"studs",
        r"hoops",
        r"huggies",
        r"boucles? d[' ]?\s?oreilles?",
        r"puces? d[' ]?\s?oreilles?",
        r"pendientes",
        r"aretes?",
        r"zarcillos?",
        r"argollas",
        r"ohrringe?",
        r"ohrstecker",
        r"ohrhanger",
        r"creolen",
        r"orecchin[oi]",
        r"pendenti",
        r"brincos?",
        r"argolas",
        r"oorbel(?:len)?",
        r"oorknopjes?",
        r"oorringen",
    ),
    "ring": (
        r"rings?",
        r"wedding bands?",
        r"eternity bands?",
        r"bagues?",
        r"alliances?",
        r"chevalieres?",
        r"anillos?",
        r"sortijas?",
        r"(?:gold|silber|verlobungs|trau|ehe|finger|siegel|daumen|partner|memoire|diamant|perlen)?ringe?",
        r"anell[oi]",
        r"fedi(?:na|ne)?",
        r"anel",
        r"aneis",
        r"aliancas?",
        r"ringen",
    ),
    "bracelet": (
        r"bracelets?",
        r"bangles?",
        r"cuff bracelets?",
        r"tennis bracelets?",
        r"gourmettes?",
        r"joncs?",
        r"pulseras?",
        r"brazaletes?",
        r"esclavas?",
        r"armband",
        r"armbander",
        r"armreif(?:en|e)?",
        r"armkettchen",
        r"armketten?",
        r"braccial[ei]",
        r"bracciali",
        r"pulseiras?",
        r"braceletes?",
        r"armbanden",
        r"armbandjes?",
    ),
    "anklet": (
        r"anklets?",
        r"ankle (?:bracelets?|chains?)",
        r"chevilleres?",
        r"bracelets? de cheville",
        r"chaines? de cheville",
        r"tobilleras?",
        r"pulseras? (?:de|para el) tobillo",
        r"fusskettchen",
        r"fussketten?",
        r"fusskette",
        r"caviglier[ae]",
        r"tornozeleiras?",
        r"enkelbandjes?",
        r"enkelkettingen",
        r"enkelketting(?:je)?",
    ),
}

# A chain on its own is most often a necklace; weaker evidence than any word above ("chain bracelet").
CHAIN_WORDS = (
    r"chains?",
    r"chaines?",
    r"cadenas?",
    r"ketten?",
    r"catenin[ae]",
    r"catene",
    r"correntes?",
    r"correntinhas?",
)

# Kinds whose words name part of another: a pendant hangs from a necklace, an earring or a bracelet may
# carry a pendant, "bracelet de cheville" is an anklet.
IMPLIED = {
    "pendant": {"necklace"},
    "earrings": {"pendant"},
    "bracelet": {"pendant"},
    "anklet": {"bracelet", "pendant"},
    "ring": set(),
    "necklace": set(),
}
# Two kinds named together with one of these are a set ("necklace and earrings set").
SET_WORDS = (
    r"sets?",
    r"parures?",
    r"ensembles?",
    r"conjuntos?",
    r"juegos?",
    r"kits?",
    r"and",
    r"&",
    r"\+",
    r"et",
    r"y",
    r"und",
    r"e",
    r"en",
    r"with",
    r"avec",
    r"con",
    r"mit",
    r"com",
    r"met",
)

# Jewelry Worn does not render: named so the merchant sees why the product was skipped.
UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "body jewelry": (
        r"(?:nose|belly|navel|septum|tongue|lip|eyebrow|nipple|tragus|helix|daith|conch)"
        r" (?:rings?|studs?|bars?|piercings?)",
        r"piercings?",
        r"body jewell?ery",
        r"nasenring",
        r"bauchnabelpiercing",
        r"piercing (?:nez|nombril)",
    ),
    "brooches": (r"brooch(?:es)?", r"lapel pins?", r"broches?", r"brosche[n]?", r"spill[ae]", r"alfinetes?"),
    "watches": (
        r"watch(?:es)?",
        r"smartwatch(?:es)?",
        r"montres?",
        r"relojes?",
        r"reloj",
        r"armbanduhr(?:en)?",
        r"uhren",
        r"orologi(?:o)?",
        r"relogios?",
        r"horloges?",
    ),
    "cufflinks": (r"cuff ?links?", r"boutons de manchette", r"gemelos", r"manschettenknopfe", r"gemelli"),
    "jewelry sets": (r"jewell?ery sets?", r"parures?", r"schmuck-?sets?", r"conjuntos? de joyas"),
}

# Phrases that contain a jewelry word but are not jewelry to put on a model (or are its accessories).
STOP_PHRASES = (
    r"key ?rings?",
    r"key ?chains?",
    r"ring ?lights?",
    r"ring ?lamps?",
    r"o-? ?rings?",
    r"d-? ?rings?",
    r"split rings?",
    r"jump rings?",
    r"napkin rings?",
    r"curtain rings?",
    r"shower rings?",
    r"piston rings?",
    r"ring binders?",
    r"ring (?:sling|toss|doorbell|camera|pull|road|spanner)s?",
    r"boxing rings?",
    r"onion rings?",
    r"teething rings?",
    r"swim(?:ming)? rings?",
    r"(?:ring|earring|necklace|bracelet|jewell?ery) (?:holders?|stands?|box(?:es)?|dish(?:es)?|trays?|"
    r"displays?|organi[sz]ers?|busts?|cards?|sizers?|adjusters?|cleaners?|findings?|backs?|hooks?|"
    r"clasps?|extenders?|making|kits?|storage|cases?|rolls?|mandrels?)",
    r"ring ?sizers?",
    r"ring size adjusters?",
    r"chain ?saws?",
    r"chain link(?: fence)?",
    r"bike chains?",
    r"bicycle chains?",
    r"snow chains?",
    r"tire chains?",
    r"tyre chains?",
    r"daisy chains?",
    r"pendant (?:lights?|lamps?|lighting|fixtures?|shades?)",
    r"lampe? (?:a )?suspension",
    r"coat hangers?",
    r"clothes hangers?",
    r"garment hangers?",
    r"trouser hangers?",
    r"wooden hangers?",
    r"velvet hangers?",
    r"hangers? (?:set|pack)",
    r"(?:dog|cat|pet|puppy|flea|shirt|lace|peter pan) collars?",
    r"collar (?:stays?|bones?|pins?)",
    r"collar para (?:perros?|gatos?|mascotas?)",
    r"(?:swim(?:ming)?|running|sports?|phone|mourning|captain) armbands?",
    r"armbands? (?:for|phone)",
    r"tobilleras? (?:deportivas?|de compresion|ortopedicas?)",
    r"watch (?:bands?|straps?|bracelets?)",
    r"(?:uhren|uhr)armband",
    r"basketball hoops?",
    r"hula hoops?",
    r"embroidery hoops?",
    r"hoop (?:stand|net)s?",
    r"(?:snow|tyre|tire|football|soccer|golf) studs?",
    r"stud (?:finders?|wall)",
    r"schlusselanhanger",
    r"fahrradanhanger",
    r"autoanhanger",
    r"(?:pkw|kfz)[ -]?anhanger",
    r"ketten(?:sage|schloss|zug)",
)


def fold(text: str) -> str:
    """Return `text` casefolded without accents, apostrophes unified: the form words are matched in."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("’", "'").replace("ʼ", "'"))
    return "".join(char for char in text if not unicodedata.combining(char))


def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(patterns) + r")(?![\w-])")


_KIND_PATTERNS = {kind: _alternation(words) for kind, words in WORDS.items()}
_CHAIN = _alternation(CHAIN_WORDS)
_SET = re.compile(r"(?<![\w-])(?:" + "|".join(SET_WORDS) + r")(?![\w-])")
_UNSUPPORTED_PATTERNS = {name: _alternation(words) for name, words in UNSUPPORTED.items()}
_STOP = re.compile(r"(?<!\w)(?:" + "|".join(STOP_PHRASES) + r")(?!\w)")


@dataclass(frozen=True)
class Classification:
    """What Worn decided about a product: the kind to render (None when skipped), a stable code, the why.

    Codes: `jewelry` (render `kind`), `not_jewelry`, `unsupported_kind` (jewelry Worn does not render),
    `unknown_kind` (jewelry, but which kind cannot be told), `kind_disabled` (the style leaves it out),
    `no_plate` (no active plate of the style carries the kind).
    """

    kind: str | None
    code: str
    reason: str

    @property
    def renders(self) -> bool:
        """Say whether the product is to be rendered."""
        return self.code == "jewelry"


def words_kind(text: str) -> tuple[str | None, str | None, str | None]:
    """Return (kind, unsupported name, the words that decided) read from free text in any known language."""
    folded = _STOP.sub(" ", fold(text))
    body = _UNSUPPORTED_PATTERNS["body jewelry"].search(folded)
    if body:  # before the kinds: a "nose ring" is not a ring to put on a finger
        return None, "body jewelry", body.group(0)
    found = {kind: match.group(0) for kind in PRIORITY if (match := _KIND_PATTERNS[kind].search(folded))}
    if found:
        distinct = set(found) - {implied for kind in found for implied in IMPLIED[kind]}
        if len(distinct) > 1 and _SET.search(folded):
            return None, "jewelry sets", " + ".join(found[kind] for kind in PRIORITY if kind in distinct)
        kind = next(kind for kind in PRIORITY if kind in found)
        return kind, None, found[kind]
    for name, pattern in _UNSUPPORTED_PATTERNS.items():
        if match := pattern.search(folded):
            return None, name, match.group(0)
    if match := _CHAIN.search(folded):
        return "necklace", None, match.group(0)
    return None, None, None


def category_kind(gid: str) -> tuple[str | None, str | None, bool]:
    """Return (kind, unsupported name, is jewelry) for a taxonomy category GID."""
    node = gid.removeprefix(TAXONOMY)
    parts = node.split("-")
    if parts[:2] != JEWELRY_CATEGORY.split("-"):
        return None, None, False
    top = "-".join(parts[:3])  # aa-6-8-1 (were Shopify to add one) belongs to aa-6-8
    if top in _CATEGORY_KINDS:
        return _CATEGORY_KINDS[top], None, True
    if top in _CATEGORY_UNSUPPORTED:
        return None, _CATEGORY_UNSUPPORTED[top], True
    return None, None, True  # aa-6 itself, or a branch newer than this table


def _rule_matches(rule: JewelryRule, snapshot: ProductSnapshot) -> str | None:
    if rule.field == "tag":
        values = list(snapshot.tags)
    elif rule.field == "category":
        category = snapshot.category
        values = [category.gid, category.name, category.full_name] if category else []
    else:
        values = [getattr(snapshot, rule.field)]
    for value in values:
        folded = fold(value).strip()
        if rule.equals is not None and folded == fold(rule.equals).strip():
            return value
        if rule.contains is not None and fold(rule.contains).strip() in folded:
            return value
    return None


def _detect(snapshot: ProductSnapshot, style: HouseStyle) -> Classification:
    for number, rule in enumerate(style.jewelry.rules, 1):
        value = _rule_matches(rule, snapshot)
        if value is not None:
            test = f"equals {rule.equals!r}" if rule.equals is not None else f"contains {rule.contains!r}"
            why = f"house style rule {number} ({rule.field} {test}) matched {value!r}"
            if rule.kind == "none":
                return Classification(None, "not_jewelry", why)
            return Classification(rule.kind, "jewelry", why)

    category = snapshot.category
    if category is not None:
        kind, unsupported, is_jewelry = category_kind(category.gid)
        shown = f"category {category.full_name or category.name or category.gid}"
        if kind:
            return Classification(kind, "jewelry", shown)
        if unsupported:
            return Classification(None, "unsupported_kind", f"{shown}: Worn does not render {unsupported}")
        if not is_jewelry:
            return Classification(None, "not_jewelry", f"{shown} is not jewelry")

    for label, texts in (
        ("product type", [snapshot.product_type]),
        ("tag", list(snapshot.tags)),
        ("title", [snapshot.title]),
    ):
        for text in texts:
            kind, unsupported, word = words_kind(text)
            if kind:
                return Classification(kind, "jewelry", f"{label} {text!r} says {word!r}")
            if unsupported:
                why = f"{label} {text!r} says {word!r}: Worn does not render {unsupported}"
                return Classification(None, "unsupported_kind", why)

    if category is not None:  # the Jewelry category itself, with no word telling the kind
        shown = category.full_name or category.gid
        return Classification(None, "unknown_kind", f"category {shown}, but no kind in type, tags or title")
    return Classification(None, "not_jewelry", "no jewelry category or jewelry word in type, tags or title")


def classify(snapshot: ProductSnapshot, style: HouseStyle) -> Classification:
    """Return the kind Worn renders `snapshot` as under `style`, or why it does not render it."""
    found = _detect(snapshot, style)
    if not found.renders or found.kind is None:
        return found
    if found.kind not in style.jewelry.kinds:
        why = f"{found.reason}: {found.kind}, which house style {style.name!r} leaves out"
        return Classification(None, "kind_disabled", why)
    if not style.active_plates(found.kind):
        why = f"{found.reason}: {found.kind}, but no active plate of house style {style.name!r} carries it"
        return Classification(None, "no_plate", why)
    return found
