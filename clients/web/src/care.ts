/**
 * The on-device care check: the same English and Spanish phrase rules as the Python client
 * (`clients/crisis.py`, whose module text is the normative description), run in the browser.
 *
 * It is a pointer to help and nothing more: a line that matches is still sent and shown unchanged;
 * nothing is reported, stored or logged, and `CareMatch` names only the rule, never the words.
 *
 * Port notes (kept equal to Python by `test/care.test.ts` against `test/fixtures/crisis_cases.json`,
 * which `python -m tests.crisis_cases` writes from the Python check):
 * - Python's Unicode `\b` and `\w` become look-arounds over `[\p{L}\p{N}_]` (JavaScript's are ASCII).
 * - `casefold` is `toLowerCase` plus the few full foldings that matter here (ß, ẞ → ss; ς → σ).
 * - Accents are folded as in Python: NFD, then the combining marks U+0300..U+036F removed.
 * - Both languages always run, whatever the interface's language (see `clients/crisis.py`).
 * - At most `MAX_CHARS` code points are considered, before and after normalisation.
 * Every pattern is linear-time, as in Python: no nested unbounded repetition.
 */

export const MAX_CHARS = 100_000;

export interface CareMatch {
  readonly rule: string;
  readonly description: string;
}

const W = "[\\p{L}\\p{N}_]";
/** A Python pattern in JavaScript: a leading `\b` → not after a word character, any other → not before one. */
function py(pattern: string): RegExp {
  const source = pattern.replace(/^\\b/, `(?<!${W})`).replace(/\\b/g, `(?!${W})`).replace(/\[\^\\w /g, "[^\\p{L}\\p{N}_ ");
  return new RegExp(source, "u");
}

const I_AM = "(?:i'?m|i am)";
const DONT = "(?:don'?t|do not)";
const CANT = "(?:can'?t|cannot|can not)";
const ANYMORE = "(?:anymore|any more|any longer)";
const END = "(?= ?(?:$|[^\\w ]))";
// Spanish, after accents are folded
const ES_PILLS = "(?:pastillas|pildoras|comprimidos|medicamentos|medicinas|calmantes|somniferos|antidepresivos|paracetamol)";
const ES_TOOK = "(?:me )?(?:tome|trague|he tomado|he tragado|me he tomado|me he tragado|acabo de tomar(?:me)?)";

interface Rule {
  readonly id: string;
  readonly description: string;
  readonly patterns: readonly RegExp[];
}

const rule = (id: string, description: string, ...patterns: string[]): Rule => ({ id, description, patterns: patterns.map(py) });

export const RULES: readonly Rule[] = [
  rule(
    "suicide.intent",
    "Talk of suicide or of ending one's own life",
    "\\bkill(?:s|ed|ing)? my ?self\\b",
    "\\bunalive(?:s|d|ing)? (?:my ?self|me)\\b",
    "\\bend(?:s|ed|ing)? (?:my|this) (?:own )?life\\b",
    "\\b(?:take|taking|took|taken) my (?:own )?life\\b",
    "\\bend(?:s|ed|ing)? it all\\b",
    "\\bsuicid(?:e|es|al)\\b",
    "\\bmatarme\\b",
    "\\bme (?:voy a|quiero|pienso|podria|deberia) (?:matar|suicidar)\\b",
    "\\bsuicid(?:a|as|io|ios|ar|arme|arse|o|ado|ada|andome)\\b",
    "\\b(?:quitarme|me (?:voy a|quiero) quitar) la vida\\b",
    "\\b(?:acabar|terminar|acabo|termino) con (?:mi (?:propia )?vida|esta vida)\\b",
    `\\b(?:acabar|terminar) con todo(?:${END}| (?:ya|de una vez)\\b)`,
  ),
  rule(
    "death.wish",
    "Wanting to die or not to be alive",
    "\\b(?:(?:want|wants|wanted|wanting|wish|wishing) to|wanna) die\\b",
    "\\bwish (?:that )?i (?:was|were|could be) dead\\b",
    "\\bwish (?:that )?i (?:could|would) (?:just )?die\\b",
    "\\bwish (?:that )?i(?: had|'?d) never been born\\b",
    "\\bbetter off dead\\b",
    `\\b${DONT} (?:want to|wanna) (?:be here|live|be alive|exist|wake up|go on) (?:${ANYMORE}|ever again)\\b`,
    `\\b${DONT} (?:want to|wanna) (?:live|be alive|exist)${END}`,
    "\\b(?:quiero|queria|quisiera|deseo|desearia) morir(?:me)?\\b",
    "\\bme (?:quiero|queria|quisiera) morir\\b",
    "\\bojala (?:me muriera|me muera|me muriese|estuviera muert[oa]|no (?:hubiera|haber) nacido|no despertar)\\b",
    "\\bmejor muert[oa]s?\\b",
    "\\bno quiero (?:vivir|seguir viviendo|estar viv[oa]|existir|despertar(?:me)?|estar aqui) (?:mas|nunca mas)\\b",
    `\\bno quiero (?:vivir|seguir viviendo|estar viv[oa]|existir)${END}`,
  ),
  rule(
    "self_harm",
    "Hurting oneself on purpose",
    "\\b(?:hurt|hurts|hurting|harm|harms|harmed|harming|cut|cuts|cutting|burn|burns|burned|burnt|burning) my ?self\\b",
    "\\bself ?-? ?(?:harm|harms|harmed|harming|injury|injuries|injure|injuring)\\b",
    "\\bauto ?-? ?lesion(?:es|o|a|e|ar|arme|arse|ado|ada|ando)?\\b",
    "\\b(?:quiero|necesito|voy a|tengo ganas de|ganas de|pienso en) (?:hacerme dano|lastimarme|herirme|cortarme|quemarme)\\b",
    "\\b(?:me hago|me hice|me he hecho|me estoy haciendo|hacerme) dano a (?:proposito|mi mism[oa])\\b",
    "\\bme (?:corto|corte|quemo|queme|lastimo|lastime|hiero) a proposito\\b",
    "\\bme (?:he vuelto a|volvi a|vuelvo a) (?:cortar|lastimar|quemar|hacer dano)\\b",
    "\\b(?:me corto|me corte|cortarme) (?:los brazos|las munecas|las piernas)\\b",
  ),
  rule(
    "overdose",
    "An overdose, or having taken too many pills",
    "\\boverdos(?:e|es|ed|ing)\\b",
    "\\bod'(?:d|ed|ing)\\b",
    "\\b(?:took|swallowed|(?:have|i'?ve|just) (?:taken|swallowed))" +
      " (?:all|too many|way too many|loads|handfuls|a (?:whole )?(?:bottle|box|packet|pack|handful|bunch|lot))" +
      " (?:(?:of|my|the|these|those|sleeping|pain) ){0,3}" +
      "(?:pills|tablets|meds|medication|medicine|painkillers|antidepressants|paracetamol|tylenol)\\b(?! away\\b)",
    "\\bsobredosis\\b",
    `\\b${ES_TOOK} (?:todas (?:mis |las )?|(?:un|una) (?:bote|frasco|caja|blister|monton|punado) de (?:mis |las )?` +
      `|(?:demasiadas|muchisimas) )${ES_PILLS}\\b`,
  ),
  rule(
    "danger.now",
    "Not being safe right now",
    `\\b${I_AM} (?:not safe|unsafe|in (?:immediate )?danger)\\b`,
    `\\b${CANT} (?:keep|stay) (?:myself )?safe\\b`,
    `\\bi ${DONT} feel safe` +
      ` (?:at home|here|right now|now|tonight|${ANYMORE}|with (?:him|her|them|myself)|around (?:him|her|them))\\b`,
    "\\bno estoy a salvo\\b",
    "\\b(?:estoy|me siento) en peligro\\b",
    "\\bno puedo (?:mantenerme|estar) a salvo\\b",
    "\\bno me siento (?:a salvo|segur[oa])" +
      " (?:en (?:mi )?casa|aqui|ahora|esta noche|ya|con (?:el|ella|ellos|ellas)|cerca de (?:el|ella|ellos))\\b",
  ),
  rule(
    "hopeless.burden",
    "Hopelessness, or feeling a burden to others",
    "\\bno (?:reason|point) (?:to|in) (?:live|living|go on|going on|be alive|being alive|keep going)\\b",
    "\\bnothing (?:left )?to live for\\b",
    "\\b(?:isn'?t|is not|not|no longer|never) worth living\\b",
    "\\b(?:better|happier) off without me\\b",
    "\\bbetter off if i (?:was|were) (?:gone|dead|not here|not around)\\b",
    "\\bbetter off if i (?:wasn'?t|weren'?t) (?:here|around)\\b",
    `\\b(?:${I_AM}|i feel like|i'?ve become|i have become)` + " (?:(?:just|only|such|nothing but|always|so much of|a) ){0,3}burden\\b",
    `\\b${CANT} (?:go on|keep going|carry on)(?:${END}| (?:${ANYMORE}|like this|living|much longer)\\b)`,
    "\\b(?:give|given|gave|giving) up on (?:life|living)\\b",
    "\\bno (?:hay|tengo|le veo|encuentro) (?:ninguna |ningun )?(?:razon|razones|motivo|motivos|sentido)" +
      " (?:para|de|por el que|por la que) (?:vivir|seguir viviendo|seguir adelante|estar viv[oa])\\b",
    "\\bno tengo (?:nada )?(?:por (?:lo )?que|para que) vivir\\b",
    "\\b(?:la vida|vivir) (?:ya )?no vale la pena\\b",
    "\\b(?:estarian|estaria|estarias|estaran|vivirian|seria) (?:todos )?mejor sin mi\\b",
    "\\b(?:soy|me siento|me he convertido en|me converti en) (?:(?:solo|una|un|tal|como|nada mas que|siempre) ){0,3}" +
      "(?:carga|estorbo)\\b",
    `\\b(?:ya )?no puedo (?:mas|seguir)(?:${END}| (?:asi|viviendo|adelante)\\b)`,
    "\\b(?:me (?:he rendido|rendi|rindo)|renuncio|he renunciado|renuncie) (?:con|a) (?:la vida|vivir)\\b",
  ),
];

/** Idioms that contain a rule's words; blanked out (each match, globally) before the rules run. */
const GUARDS: readonly RegExp[] = [
  "\\bto die for\\b(?! (?:real|sure|certain)\\b)",
  "\\bdie (?:of|from) (?:embarrassment|laughter|laughing|boredom|cringe|cuteness)\\b",
  "\\bdie laughing\\b",
  "\\bdie (?:my|your|her|his|their|the) hair\\b",
  "\\bkill(?:s|ed|ing)? my ?self laughing\\b",
  "\\bkill(?:ed|ing) my ?self (?:to (?:get|finish|meet|make|keep up)|at (?:work|the gym))\\b",
  "\\b(?:career|political|social|commercial|electoral|professional|financial|fashion) suicide\\b",
  "\\bsuicide (?:squad|doors?|sprints?|runs?|drills?|burn|bombers?|bombings?|bomb|attacks?|missions?)\\b",
  "\\baccidentally (?:hurt|cut|burned|burnt) my ?self\\b",
  "\\b(?:hurt|hurting|cut|cutting|burned|burnt|burning) my ?self (?:by accident|accidentally" +
    "|shaving|cooking|chopping|slicing|playing|running|at (?:the )?(?:gym|work|practice)|in the kitchen" +
    "|on (?:a|an|the|some) (?:broken )?(?:glass|paper|knife|can|stove|oven|pan|iron|kettle|edge|nail))\\b",
  "\\b(?:caffeine|coffee|sugar|chocolate|cuteness|nostalgia|netflix|tv|carb|candy) ?-?overdose\\b",
  "\\boverdos(?:e|es|ed|ing) on (?:caffeine|coffee|sugar|chocolate|cuteness|netflix|tv|carbs|candy|cake|pizza" +
    "|sunshine|nostalgia|memes)\\b",
  // Spanish
  "\\bmor(?:ir|irme|irse|irte|ia|iria|irnos) de (?:risa|verguenza|ganas|hambre|sueno|aburrimiento|calor|frio|envidia|ternura)\\b",
  "\\bmat(?:arme|arse|arte) (?:a (?:estudiar|trabajar|entrenar)|de risa)\\b",
  "\\bme (?:voy a|quiero|pienso) matar (?:a (?:estudiar|trabajar|entrenar)|de risa)\\b",
  "\\bsuicidio (?:politico|profesional|social|comercial|electoral|financiero|laboral)\\b",
  "\\bsobredosis de (?:cafe|cafeina|azucar|chocolate|dulces|netflix|series|ternura|nostalgia|memes|pizza)\\b",
  "\\ben peligro de (?:extincion|suspender|reprobar)\\b",
].map((p) => new RegExp(py(p).source, "gu"));
const GAP = " / ";

const APOSTROPHES = /[\u2018\u2019\u201b\u02bc\u02bb\u2032\u0060\u00b4\uff07]/gu;
const DASHES = /[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]/gu;
const ACCENTS = /[\u0300-\u036f]/gu;
const INVISIBLE = /[\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff]/gu;
/** Python's `\s` on text: Unicode white space plus the information separators U+001C..U+001F. */
const WHITESPACE = /[\s\x1c-\x1f]+/gu;

/** The first `n` code points of `text`. */
function head(text: string, n: number): string {
  if (text.length <= n) return text;
  return Array.from(text.slice(0, 2 * n)).slice(0, n).join("");
}

function normalise(text: string): string {
  const lowered = head(text, MAX_CHARS).normalize("NFKC").toLowerCase().replace(/ß/gu, "ss").replace(/ς/gu, "σ");
  const folded = lowered.normalize("NFD").replace(ACCENTS, "");
  const plain = folded.replace(APOSTROPHES, "'").replace(DASHES, "-").replace(INVISIBLE, "").replace(WHITESPACE, " ");
  return head(plain.replace(/^ | $/gu, ""), MAX_CHARS);
}

/** The first rule (in `RULES` order) that fires on `text`, or null. Keeps, stores and sends nothing; never throws. */
export function careCheck(text: string): CareMatch | null {
  let normalised = normalise(text);
  for (const guard of GUARDS) normalised = normalised.replace(guard, GAP);
  for (const r of RULES) {
    if (r.patterns.some((p) => p.test(normalised))) return { rule: r.id, description: r.description };
  }
  return null;
}
