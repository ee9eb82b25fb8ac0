"""The care check in Spanish: the same rules, guards and normalisation as in English (clients/crisis.py),
and the built-in resources chosen by the interface's language."""

import re

import pytest

from holdspace.clients.crisis import DEFAULT_RESOURCES, RULES, SPANISH_RESOURCES, check, default_resources, notice
from holdspace.clients.i18n import language

FIRES_ES = {
    "suicide.intent": [
        "quiero matarme",
        "Me voy a matar esta noche",
        "pienso en suicidarme",
        "he pensado en el suicidio",
        "tengo pensamientos suicidas",
        "quiero quitarme la vida",
        "voy a acabar con mi vida",
        "quiero acabar con todo.",
        "mi hermano se suicidó",
    ],
    "death.wish": [
        "quiero morirme",
        "Me quiero MORIR",
        "ojalá me muriera",
        "ojala no hubiera nacido",
        "estaría mejor muerta",
        "no quiero vivir más",
        "no quiero despertar nunca más",
        "no quiero vivir 😢",
    ],
    "self_harm": [
        "me autolesiono",
        "he vuelto a la autolesión",
        "quiero hacerme daño",
        "tengo ganas de cortarme",
        "me hago daño a propósito",
        "me corto los brazos",
        "me he vuelto a cortar",
    ],
    "overdose": [
        "creo que tuve una sobredosis",
        "me tomé todas mis pastillas",
        "me tragué un bote de pastillas",
        "tomé demasiadas pastillas",
    ],
    "danger.now": [
        "no estoy a salvo",
        "Estoy en peligro",
        "no puedo mantenerme a salvo",
        "no me siento segura en casa",
        "no me siento a salvo con él",
    ],
    "hopeless.burden": [
        "no tengo razones para vivir",
        "no tengo nada por lo que vivir",
        "la vida no vale la pena",
        "estarían mejor sin mí",
        "soy una carga para todos",
        "me siento como un estorbo",
        "ya no puedo más",
        "no puedo seguir así",
        "me rendí con la vida",
    ],
}

DOES_NOT_FIRE_ES = [
    # everyday Spanish that shares a rule's words
    "este examen me está matando",
    "me muero de ganas de verte",
    "me muero de hambre",
    "no estoy seguro de la fecha",
    "no puedo más con este calor",
    "no puedo seguir con la reunión, perdona",
    "no quiero vivir en Madrid",
    "me corto el pelo mañana",
    "me corté con un papel",
    "me hice daño jugando al fútbol",
    "no me siento segura de la respuesta",
    "acabar con todo el trabajo hoy",
    "la carga del camión",
    "mejor vamos mañana",
    # guards
    "me voy a morir de risa",
    "me quiero morir de vergüenza",
    "me voy a matar a estudiar esta semana",
    "eso sería un suicidio político",
    "sobredosis de café esta mañana",
    "una especie en peligro de extinción",
    "estoy en peligro de suspender",
]


@pytest.mark.parametrize(("rule_id", "text"), [(r, t) for r, texts in FIRES_ES.items() for t in texts])
def test_spanish_rule_fires(rule_id: str, text: str) -> None:
    match = check(text)
    assert match is not None and match.rule == rule_id, text


def test_every_rule_has_spanish_cases() -> None:
    assert set(FIRES_ES) == {rule.id for rule in RULES}


@pytest.mark.parametrize("text", DOES_NOT_FIRE_ES)
def test_ordinary_spanish_does_not_fire(text: str) -> None:
    assert check(text) is None, text


@pytest.mark.parametrize(
    "text",
    ["quiero morirme", "QUIERO MORIRME", "quiero  morirme", "me autolesiono", "me autolesiono\u0301"],
)
def test_accents_and_case_are_folded(text: str) -> None:
    assert check(text) is not None
    # the same words with or without accents, composed or not
    composed, bare, decomposed = "ojalá no hubiera nacido", "ojala no hubiera nacido", "ojala\u0301 no hubiera nacido"
    assert check(composed) == check(bare) == check(decomposed)
    assert check("no tengo nada por lo que vivir") == check("NO TENGO NADA POR LO QUE VIVÍR")


def test_a_spanish_guard_only_blanks_its_own_words() -> None:
    match = check("me muero de risa contigo, pero de verdad quiero morirme")
    assert match is not None and match.rule == "death.wish"
    match = check("sería un suicidio político; aun así pienso en el suicidio")
    assert match is not None and match.rule == "suicide.intent"


def test_both_languages_run_whatever_the_interface_language() -> None:
    for code in ("en", "es"):
        with language(code):
            assert check("I want to kill myself") is not None
            assert check("quiero matarme") is not None


def test_default_resources_follow_the_language() -> None:
    with language("es"):
        assert default_resources() == SPANISH_RESOURCES
        text = notice(None)
        assert SPANISH_RESOURCES in text
        assert text.startswith("Parece que")
        assert "holdspace crisis check off" in text.splitlines()[-1]  # the command is not translated
        assert "nadie más" in text.splitlines()[-1]
        assert notice("llama a X").count("llama a X") == 1  # a group's own resources are shown as pinned
    with language("en"):
        assert default_resources() == DEFAULT_RESOURCES
        assert notice(None).startswith("It sounds like")
    assert default_resources("fr") == DEFAULT_RESOURCES  # no French ones: English


def test_spanish_resources_are_the_verified_numbers() -> None:
    # 112 (EU), 911 (Mexico, US), 024 (Spain), 800 911 2000 (Mexico's Línea de la Vida): each cited in crisis.py
    assert sorted(re.findall(r"\d[\d ]*\d", SPANISH_RESOURCES)) == ["024", "112", "800 911 2000", "911"]
    assert "https://findahelpline.com" in SPANISH_RESOURCES
    assert "told" not in SPANISH_RESOURCES and "nadie más" not in SPANISH_RESOURCES
