"""A local, on-device check for crisis language in text a participant is about to send or has received.

What it is
    A small, readable set of English and Spanish phrase rules. When one of them matches, the client shows the
    group's pinned crisis resources (or :data:`DEFAULT_RESOURCES` when the group pinned none). It is a
    pointer to help, offered gently, and nothing more.

What it is not
    It is not a diagnosis or a risk assessment, and it is not moderation: a message that matches is
    still sent and still shown, unchanged. It reports nothing to anyone: no network, no node, no other
    member, no host is told. Nothing is stored and nothing is logged; :class:`CrisisMatch` names the rule
    that fired and never keeps any of the participant's words. Nothing leaves the device.

Normalisation
    Only the first :data:`MAX_CHARS` characters are considered. The text is then put in Unicode NFKC
    form (so full-width and other compatibility forms become plain letters) and casefolded; invisible
    format characters (zero-width spaces and joiners, soft hyphens, byte-order marks) are removed;
    curly and look-alike apostrophes become ``'`` and Unicode dashes become ``-``; and every run of
    whitespace becomes a single space. Accents are folded (the text is decomposed and its combining
    diacritical marks, U+0300 to U+036F, removed: "suicidó" reads "suicido", "daño" reads "dano"), so
    the Spanish rules, written without accents, match a text typed with or without them. The rules also
    accept the common spellings without apostrophes ("dont", "cant", "im", "ive", "wasnt").

Languages
    Every rule holds English and Spanish patterns, and both languages always run, whatever language
    the interface is in: a person may write in either, a group may be bilingual, and the only effect of
    a match is that resources are shown, so a match in the other language costs nothing. The rule ids
    are the same in both languages. :func:`default_resources` chooses the built-in resources by the
    interface's language (``clients.i18n``).

Rules, in the order they are tried (the first that fires wins):
    ``suicide.intent``
        Talk of suicide or of ending one's own life: "kill myself", "end my life", "take my own life",
        "end it all", "unalive myself", "suicide", "suicidal".
    ``death.wish``
        Wanting to die or not to exist: "want to die", "wanna die", "wish I was dead", "wish I'd never
        been born", "better off dead", "don't want to be here anymore", "don't want to live",
        "don't want to be alive", "don't want to exist", "don't want to wake up anymore".
    ``self_harm``
        Hurting oneself: "hurt myself", "harm myself", "cut myself", "burn myself", "self-harm",
        "self harm", "selfharm", "self-injury".
    ``overdose``
        An overdose, or having taken too many pills: "overdose", "overdosed", "OD'd", "took all my
        pills", "swallowed a bottle of pills", "took too many tablets".
    ``danger.now``
        Not being safe right now: "I'm not safe", "I am in danger", "I can't keep myself safe",
        "I don't feel safe at home / with him / anymore".
    ``hopeless.burden``
        Hopelessness, or feeling a burden: "no reason to live", "nothing to live for", "life isn't worth
        living", "everyone would be better off without me", "I'm such a burden", "I can't go on"
        (when the sentence ends there, or continues "anymore", "like this", ...), "given up on life".

    The same rules in Spanish (quoted here with their accents; the patterns have none):
    ``suicide.intent``: "matarme", "me voy a matar", "suicidarme", "suicidio", "suicida", "quitarme la
    vida", "acabar con mi vida", "acabar con todo" (when the sentence ends there).
    ``death.wish``: "quiero morir(me)", "me quiero morir", "ojalá me muriera", "ojalá no hubiera nacido",
    "mejor muerto/a", "no quiero vivir más", "no quiero despertar más", "no quiero vivir" (when the
    sentence ends there).
    ``self_harm``: "autolesión", "autolesionarme", "quiero hacerme daño / cortarme / lastimarme",
    "me hago daño a propósito", "me corto los brazos", "me he vuelto a cortar".
    ``overdose``: "sobredosis", "me tomé todas las pastillas", "me tragué un bote de pastillas",
    "tomé demasiadas pastillas".
    ``danger.now``: "no estoy a salvo", "estoy en peligro", "no puedo mantenerme a salvo", "no me siento
    segura en casa / con él / a salvo aquí".
    ``hopeless.burden``: "no tengo razones para vivir", "no tengo nada por lo que vivir", "la vida no vale
    la pena", "estarían mejor sin mí", "soy una carga", "me siento un estorbo", "ya no puedo más" (when
    the sentence ends there), "no puedo seguir así", "me rendí con la vida".

Guards
    The rules are phrased narrowly, so everyday idioms such as "this exam is killing me", "I'm dying
    to see you", "killer app" or "I'm dead tired" never match to begin with. A few idioms do contain a
    rule's words; these are blanked out before the rules run (see ``_GUARDS``): "to die for", "die of
    embarrassment", "die laughing", "die my hair" (for "dye"), "killed myself laughing", "been killing
    myself to finish this" (overwork), "career / political / social suicide", "suicide squad / doors /
    sprints / bomber", accidental injuries ("cut myself shaving", "burnt myself on the stove",
    "accidentally hurt myself"), and "overdosed on coffee" / "sugar overdose". In Spanish: "morirme de
    risa / de vergüenza / de ganas", "matarme a estudiar / de risa" (overwork, laughter), "suicidio
    político / profesional / social", "sobredosis de café / azúcar / series", and "en peligro de
    extinción / de suspender". A guard only blanks its own words: "this exam is killing me and I want
    to kill myself" still fires.

Known limits
    English and Spanish only. Negation is not guarded, in either language, as in the English rules
    from the start: "I'm not suicidal" and "no quiero morir" fire, because showing resources to someone
    who is talking about it anyway is harmless. It matches phrases, not meaning, so it has false
    negatives (indirect, misspelt, coded or other-language wording, or a crisis phrase after the first
    :data:`MAX_CHARS` characters)
    and false positives (hyperbole such as "I'll kill myself if I have to sit through that meeting
    again", quoting, or talking about someone else). In particular, a sentence about suicide in the
    third person ("my brother died by suicide", "she died of an overdose", "mi hermano se suicidó")
    fires: in a grief or
    peer-support group that is acceptable, because the only effect is that resources are shown.

The matching is linear-time: no pattern nests unbounded repetition and every gap between words is a
bounded, literal alternation, so each position in the text costs a bounded amount of work and no input
can cause catastrophic backtracking.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from holdspace.clients.i18n import _, current

__all__ = [
    "MAX_CHARS",
    "Rule",
    "RULES",
    "CrisisMatch",
    "check",
    "DEFAULT_RESOURCES",
    "SPANISH_RESOURCES",
    "default_resources",
    "notice",
]

#: only this many characters of a text are considered (before and after normalisation)
MAX_CHARS = 100_000


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id, a short human description, and the patterns (any one of which fires it)."""

    id: str
    description: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class CrisisMatch:
    """Which rule fired. Deliberately holds none of the text that was checked."""

    rule: str
    description: str


# Building blocks, written for normalised text (casefolded, one space between words, "'" apostrophes).
_I_AM = r"(?:i'?m|i am)"
_DONT = r"(?:don'?t|do not)"
_CANT = r"(?:can'?t|cannot|can not)"
_ANYMORE = r"(?:anymore|any more|any longer)"
#: the clause ends here: end of text, or punctuation / an emoji, possibly after one space
_END = r"(?= ?(?:$|[^\w ]))"
# Spanish, after accents are folded
_ES_PILLS = r"(?:pastillas|pildoras|comprimidos|medicamentos|medicinas|calmantes|somniferos|antidepresivos|paracetamol)"
_ES_TOOK = r"(?:me )?(?:tome|trague|he tomado|he tragado|me he tomado|me he tragado|acabo de tomar(?:me)?)"


def _rule(rule_id: str, description: str, *patterns: str) -> Rule:
    return Rule(rule_id, description, tuple(re.compile(p) for p in patterns))


RULES: tuple[Rule, ...] = (
    _rule(
        "suicide.intent",
        "Talk of suicide or of ending one's own life",
        r"\bkill(?:s|ed|ing)? my ?self\b",
        r"\bunalive(?:s|d|ing)? (?:my ?self|me)\b",
        r"\bend(?:s|ed|ing)? (?:my|this) (?:own )?life\b",
        r"\b(?:take|taking|took|taken) my (?:own )?life\b",
        r"\bend(?:s|ed|ing)? it all\b",
        r"\bsuicid(?:e|es|al)\b",
        r"\bmatarme\b",
        r"\bme (?:voy a|quiero|pienso|podria|deberia) (?:matar|suicidar)\b",
        r"\bsuicid(?:a|as|io|ios|ar|arme|arse|o|ado|ada|andome)\b",
        r"\b(?:quitarme|me (?:voy a|quiero) quitar) la vida\b",
        r"\b(?:acabar|terminar|acabo|termino) con (?:mi (?:propia )?vida|esta vida)\b",
        rf"\b(?:acabar|terminar) con todo(?:{_END}| (?:ya|de una vez)\b)",
    ),
    _rule(
        "death.wish",
        "Wanting to die or not to be alive",
        r"\b(?:(?:want|wants|wanted|wanting|wish|wishing) to|wanna) die\b",
        r"\bwish (?:that )?i (?:was|were|could be) dead\b",
        r"\bwish (?:that )?i (?:could|would) (?:just )?die\b",
        r"\bwish (?:that )?i(?: had|'?d) never been born\b",
        r"\bbetter off dead\b",
        rf"\b{_DONT} (?:want to|wanna) (?:be here|live|be alive|exist|wake up|go on) (?:{_ANYMORE}|ever again)\b",
        rf"\b{_DONT} (?:want to|wanna) (?:live|be alive|exist){_END}",
        r"\b(?:quiero|queria|quisiera|deseo|desearia) morir(?:me)?\b",
        r"\bme (?:quiero|queria|quisiera) morir\b",
        r"\bojala (?:me muriera|me muera|me muriese|estuviera muert[oa]|no (?:hubiera|haber) nacido|no despertar)\b",
        r"\bmejor muert[oa]s?\b",
        r"\bno quiero (?:vivir|seguir viviendo|estar viv[oa]|existir|despertar(?:me)?|estar aqui) (?:mas|nunca mas)\b",
        rf"\bno quiero (?:vivir|seguir viviendo|estar viv[oa]|existir){_END}",
    ),
    _rule(
        "self_harm",
        "Hurting oneself on purpose",
        r"\b(?:hurt|hurts|hurting|harm|harms|harmed|harming|cut|cuts|cutting|burn|burns|burned|burnt|burning)"
        r" my ?self\b",
        r"\bself ?-? ?(?:harm|harms|harmed|harming|injury|injuries|injure|injuring)\b",
        r"\bauto ?-? ?lesion(?:es|o|a|e|ar|arme|arse|ado|ada|ando)?\b",
        r"\b(?:quiero|necesito|voy a|tengo ganas de|ganas de|pienso en) (?:hacerme dano|lastimarme|herirme|cortarme"
        r"|quemarme)\b",
        r"\b(?:me hago|me hice|me he hecho|me estoy haciendo|hacerme) dano a (?:proposito|mi mism[oa])\b",
        r"\bme (?:corto|corte|quemo|queme|lastimo|lastime|hiero) a proposito\b",
        r"\bme (?:he vuelto a|volvi a|vuelvo a) (?:cortar|lastimar|quemar|hacer dano)\b",
        r"\b(?:me corto|me corte|cortarme) (?:los brazos|las munecas|las piernas)\b",
    ),
    _rule(
        "overdose",
        "An overdose, or having taken too many pills",
        r"\boverdos(?:e|es|ed|ing)\b",
        r"\bod'(?:d|ed|ing)\b",
        r"\b(?:took|swallowed|(?:have|i'?ve|just) (?:taken|swallowed))"
        r" (?:all|too many|way too many|loads|handfuls|a (?:whole )?(?:bottle|box|packet|pack|handful|bunch|lot))"
        r" (?:(?:of|my|the|these|those|sleeping|pain) ){0,3}"
        r"(?:pills|tablets|meds|medication|medicine|painkillers|antidepressants|paracetamol|tylenol)\b(?! away\b)",
        r"\bsobredosis\b",
        rf"\b{_ES_TOOK} (?:todas (?:mis |las )?|(?:un|una) (?:bote|frasco|caja|blister|monton|punado) de (?:mis |las )?"
        rf"|(?:demasiadas|muchisimas) ){_ES_PILLS}\b",
    ),
    _rule(
        "danger.now",
        "Not being safe right now",
        rf"\b{_I_AM} (?:not safe|unsafe|in (?:immediate )?danger)\b",
        rf"\b{_CANT} (?:keep|stay) (?:myself )?safe\b",
        rf"\bi {_DONT} feel safe"
        rf" (?:at home|here|right now|now|tonight|{_ANYMORE}|with (?:him|her|them|myself)|around (?:him|her|them))\b",
        r"\bno estoy a salvo\b",
        r"\b(?:estoy|me siento) en peligro\b",
        r"\bno puedo (?:mantenerme|estar) a salvo\b",
        r"\bno me siento (?:a salvo|segur[oa])"
        r" (?:en (?:mi )?casa|aqui|ahora|esta noche|ya|con (?:el|ella|ellos|ellas)|cerca de (?:el|ella|ellos))\b",
    ),
    _rule(
        "hopeless.burden",
        "Hopelessness, or feeling a burden to others",
        r"\bno (?:reason|point) (?:to|in) (?:live|living|go on|going on|be alive|being alive|keep going)\b",
        r"\bnothing (?:left )?to live for\b",
        r"\b(?:isn'?t|is not|not|no longer|never) worth living\b",
        r"\b(?:better|happier) off without me\b",
        r"\bbetter off if i (?:was|were) (?:gone|dead|not here|not around)\b",
        r"\bbetter off if i (?:wasn'?t|weren'?t) (?:here|around)\b",
        rf"\b(?:{_I_AM}|i feel like|i'?ve become|i have become)"
        r" (?:(?:just|only|such|nothing but|always|so much of|a) ){0,3}burden\b",
        rf"\b{_CANT} (?:go on|keep going|carry on)(?:{_END}| (?:{_ANYMORE}|like this|living|much longer)\b)",
        r"\b(?:give|given|gave|giving) up on (?:life|living)\b",
        r"\bno (?:hay|tengo|le veo|encuentro) (?:ninguna |ningun )?(?:razon|razones|motivo|motivos|sentido)"
        r" (?:para|de|por el que|por la que) (?:vivir|seguir viviendo|seguir adelante|estar viv[oa])\b",
        r"\bno tengo (?:nada )?(?:por (?:lo )?que|para que) vivir\b",
        r"\b(?:la vida|vivir) (?:ya )?no vale la pena\b",
        r"\b(?:estarian|estaria|estarias|estaran|vivirian|seria) (?:todos )?mejor sin mi\b",
        r"\b(?:soy|me siento|me he convertido en|me converti en)"
        r" (?:(?:solo|una|un|tal|como|nada mas que|siempre) ){0,3}(?:carga|estorbo)\b",
        rf"\b(?:ya )?no puedo (?:mas|seguir)(?:{_END}| (?:asi|viviendo|adelante)\b)",
        r"\b(?:me (?:he rendido|rendi|rindo)|renuncio|he renunciado|renuncie) (?:con|a) (?:la vida|vivir)\b",
    ),
)

#: Idioms that contain a rule's words but are not crisis language. Their words are blanked out
#: (replaced by ``_GAP``) before the rules run, so the rest of the text is still checked.
_GUARDS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # "the cake was to die for" (but not "I want to die for real")
        r"\bto die for\b(?! (?:real|sure|certain)\b)",
        r"\bdie (?:of|from) (?:embarrassment|laughter|laughing|boredom|cringe|cuteness)\b",
        r"\bdie laughing\b",
        r"\bdie (?:my|your|her|his|their|the) hair\b",  # "dye"
        r"\bkill(?:s|ed|ing)? my ?self laughing\b",
        r"\bkill(?:ed|ing) my ?self (?:to (?:get|finish|meet|make|keep up)|at (?:work|the gym))\b",  # overwork
        r"\b(?:career|political|social|commercial|electoral|professional|financial|fashion) suicide\b",
        r"\bsuicide (?:squad|doors?|sprints?|runs?|drills?|burn|bombers?|bombings?|bomb|attacks?|missions?)\b",
        r"\baccidentally (?:hurt|cut|burned|burnt) my ?self\b",
        r"\b(?:hurt|hurting|cut|cutting|burned|burnt|burning) my ?self (?:by accident|accidentally"
        r"|shaving|cooking|chopping|slicing|playing|running|at (?:the )?(?:gym|work|practice)|in the kitchen"
        r"|on (?:a|an|the|some) (?:broken )?(?:glass|paper|knife|can|stove|oven|pan|iron|kettle|edge|nail))\b",
        r"\b(?:caffeine|coffee|sugar|chocolate|cuteness|nostalgia|netflix|tv|carb|candy) ?-?overdose\b",
        r"\boverdos(?:e|es|ed|ing) on (?:caffeine|coffee|sugar|chocolate|cuteness|netflix|tv|carbs|candy|cake|pizza"
        r"|sunshine|nostalgia|memes)\b",
        # Spanish
        r"\bmor(?:ir|irme|irse|irte|ia|iria|irnos) de (?:risa|verguenza|ganas|hambre|sueno|aburrimiento|calor|frio"
        r"|envidia|ternura)\b",
        r"\bmat(?:arme|arse|arte) (?:a (?:estudiar|trabajar|entrenar)|de risa)\b",
        r"\bme (?:voy a|quiero|pienso) matar (?:a (?:estudiar|trabajar|entrenar)|de risa)\b",
        r"\bsuicidio (?:politico|profesional|social|comercial|electoral|financiero|laboral)\b",
        r"\bsobredosis de (?:cafe|cafeina|azucar|chocolate|dulces|netflix|series|ternura|nostalgia|memes|pizza)\b",
        r"\ben peligro de (?:extincion|suspender|reprobar)\b",
    )
)
_GAP = " / "

_APOSTROPHES = "\u2018\u2019\u201b\u02bc\u02bb\u2032\u0060\u00b4\uff07"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_TRANSLATION = str.maketrans(
    {**dict.fromkeys(_APOSTROPHES, "'"), **dict.fromkeys(_DASHES, "-"), **dict.fromkeys(_INVISIBLE, None)}
)
_WHITESPACE = re.compile(r"\s+")
_ACCENTS = re.compile("[\u0300-\u036f]")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    text = _ACCENTS.sub("", unicodedata.normalize("NFD", text))
    text = _WHITESPACE.sub(" ", text.translate(_TRANSLATION)).strip()
    return text[:MAX_CHARS]


def check(text: str) -> CrisisMatch | None:
    """The first rule (in :data:`RULES` order) that fires on ``text``, or None.

    Runs entirely on this device; keeps, stores and logs nothing. Never raises on a ``str``.
    """
    normalised = _normalise(text)
    for guard in _GUARDS:
        normalised = guard.sub(_GAP, normalised)
    for rule in RULES:
        if any(pattern.search(normalised) for pattern in rule.patterns):
            return CrisisMatch(rule.id, rule.description)
    return None


#: the built-in resources in English, shown when a group pinned none and the interface is in English
DEFAULT_RESOURCES = (
    "If you are in immediate danger, please call your local emergency number now "
    "(for example 112 in the EU, 911 in the US and Canada, 999 in the UK).\n"
    "To talk with someone, you can find free, confidential helplines in your country at https://findahelpline.com\n"
    "You can step away from this conversation at any time; it will still be here when you come back."
)

#: the built-in resources in Spanish. Each number was checked against a public source:
#: - 112, the emergency number in every EU country, Spain included (European Commission,
#:   https://digital-strategy.ec.europa.eu/en/policies/112);
#: - 024, Spain's free, confidential line for suicidal behaviour, 24 hours a day, run for the Ministerio de
#:   Sanidad since 10 May 2022 (RTVE, 9 May 2022,
#:   https://www.rtve.es/noticias/20220509/sanidad-presenta-telefono-prevencion-suicidio/2347183.shtml);
#: - 911, the emergency number of Mexico since January 2017, also in use in the United States, Colombia,
#:   Argentina, Ecuador and Costa Rica (Prensa Latina, 3 Oct 2016,
#:   https://lagazzettadf.com/noticia/2016/10/03/entra-vigor-911-llamadas-emergencia-auxilio);
#: - 800 911 2000, Mexico's Línea de la Vida (Secretaría de Salud, CONASAMA): free, 24 hours a day
#:   (El Universal, 24 Dec 2025, https://www.eluniversal.com.mx/nacion/promueven-la-linea-de-la-vida-tras-
#:   presentar-encuesta-sobre-consumo-de-drogas-asi-puedes-pedir-ayuda/).
#: Other countries' lines are left to findahelpline.com rather than listed unverified.
SPANISH_RESOURCES = (
    "Si estás en peligro inmediato, llama ahora al número de emergencias de tu país "
    "(por ejemplo, el 112 en España y en toda la Unión Europea, o el 911 en México y Estados Unidos).\n"
    "En España, el 024 atiende gratis y de forma confidencial, a cualquier hora, a quien piensa en el suicidio. "
    "En México, la Línea de la Vida: 800 911 2000, gratuita, a cualquier hora.\n"
    "Para hablar con alguien en otro país, encuentra líneas de ayuda gratuitas y confidenciales en "
    "https://findahelpline.com\n"
    "Puedes salir de esta conversación cuando quieras; seguirá aquí cuando vuelvas."
)
_RESOURCES_BY_LANGUAGE = {"en": DEFAULT_RESOURCES, "es": SPANISH_RESOURCES}


def default_resources(language: str | None = None) -> str:
    """The built-in crisis resources for ``language`` (default: the current one, ``clients.i18n``);
    English where there are none in that language."""
    return _RESOURCES_BY_LANGUAGE.get(language or current(), DEFAULT_RESOURCES)


def notice(resources: str | None) -> str:
    """The text a client shows when :func:`check` fires: the group's pinned resources, or the defaults
    of the current language, between a gentle opening and a footer saying nobody else was told."""
    body = resources.strip() if resources is not None and resources.strip() else default_resources()
    opening = _(
        "It sounds like things may be really hard right now. You are not alone; here is where to find help now:"
    )
    footer = _(
        "This note was shown by your own device; nobody else was told. "
        "This check runs only on this device. You can turn it off with `holdspace crisis check off`."
    )
    return f"{opening}\n\n{body}\n\n{footer}"
