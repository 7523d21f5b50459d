"""The bot's own words in the reader's language: catalogs in step with the source, and each
reader served in their language through the real Application and the Bot API stand-in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
from babel.dates import format_date, get_day_names
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from briefbot.bot import i18n
from briefbot.chats import ChatRef
from briefbot.models import SummaryLength, load_summarizer
from briefbot.models.causal import prompt_text
from tests.botapi import check_html
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, GROUP_ID, READER_ID, Talk, buttons, texts
from tests.test_streaming import edits_until_the_card
from tests.tiny_models import build_causal

TRANSLATED = [locale for locale in i18n.LANGUAGES if locale != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?[a-z]+(?: [^>]*)?>")
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # a Friday


def catalog(locale: str) -> Catalog:
    path = i18n.LOCALES_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def forms(message: Message) -> tuple[list[str], list[str]]:
    """The English forms of a message and its translated ones."""
    english = list(message.id) if isinstance(message.id, tuple) else [message.id]
    translated = list(message.string) if isinstance(message.string, tuple) else [message.string]
    return english, translated


# -- the catalogs ---------------------------------------------------------------------------


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_catalog_holds_exactly_the_messages_of_the_source(locale: str):
    wanted = {m.id for m in i18n.extract_template() if m.id}
    held = catalog(locale)
    have = {m.id for m in held if m.id}
    assert wanted - have == set(), "missing: run python -m briefbot.bot.i18n and translate"
    assert have - wanted == set(), "obsolete: run python -m briefbot.bot.i18n"
    untranslated = [m.id for m in held if m.id and not all(forms(m)[1])]
    assert untranslated == []
    assert all(len(forms(m)[1]) == held.num_plurals for m in held if m.pluralizable)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_every_placeholder_and_tag(locale: str):
    for message in catalog(locale):
        if not message.id:
            continue
        english, translated = forms(message)
        fields = {name for text in english for name in PLACEHOLDER.findall(text)}
        used = set()
        for text in translated:
            found = set(PLACEHOLDER.findall(text))
            assert found <= fields, (message.id, text)
            used |= found
            assert sorted(TAG.findall(text)) == sorted(TAG.findall(english[0])), text
            # Filled in, it is HTML that Telegram accepts.
            check_html(text.format(**dict.fromkeys(found, "x")))
        assert used == fields, (message.id, translated)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_date_pattern_is_a_valid_pattern_in_each_language(locale: str):
    from briefbot.bot.digest.compose import DAY_PATTERN

    with i18n.speaking(locale):
        pattern = i18n._(DAY_PATTERN)
    assert pattern != "" and "{" not in pattern
    shown = format_date(date(2026, 11, 27), pattern, locale=locale)
    friday = get_day_names("wide", locale=locale)[4]
    assert "27" in shown and friday in shown


def test_plural_forms_follow_each_language():
    with i18n.speaking("ru"):
        digest = (
            "📰 <b>Your digest for {day}</b> · {count} new article",
            "📰 <b>Your digest for {day}</b> · {count} new articles",
        )
        shown = {n: i18n.ngettext(*digest, n) for n in (1, 3, 5, 21, 11)}
    assert shown[1].endswith("новая статья") and shown[21].endswith("новая статья")
    assert shown[3].endswith("новые статьи") and shown[5].endswith("новых статей")
    assert shown[11].endswith("новых статей")
    with i18n.speaking("ar"):
        shown = {n: i18n.ngettext(*digest, n) for n in (0, 1, 2, 3, 11, 100)}
    assert shown[1].endswith("مقال جديد واحد") and shown[2].endswith("مقالان جديدان")
    assert shown[3].endswith("{count} مقالات جديدة") and shown[11].endswith("مقالًا جديدًا")
    assert shown[100].endswith("{count} مقال جديد")


def test_numbers_and_languages_are_written_each_language_s_way():
    with i18n.speaking("de"):
        assert i18n.number(1234567) == "1.234.567"
        assert i18n.language_in_text("es") == "Spanisch"
    with i18n.speaking("ru"):
        assert i18n.number(1234567) == "1\xa0234\xa0567"
        assert i18n.language_in_text("es") == "испанский"
    with i18n.speaking("ar"):
        assert i18n.number(12) == "12"  # Latin digits, as ids and times are written
    assert i18n.current() == i18n.DEFAULT


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("pt-br", "pt_BR"),
        ("pt", "pt_BR"),
        ("de-AT", "de"),
        ("RU", "ru"),
        ("ar", "ar"),
        ("zh-hans", "en"),
        ("xx", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_telegram_language_codes_pick_a_catalog(code, locale):
    assert i18n.locale_for(code) == locale


def test_a_stored_reason_is_shown_in_the_reader_s_language_later():
    from briefbot.articles.fetch import FetchError
    from briefbot.articles.text import Refusal
    from briefbot.bot import views

    stored = FetchError("could not reach {host} ({error})", host="example.org", error="X").stored()
    back = Refusal.from_stored(stored)
    assert isinstance(back, Refusal) and str(back) == "could not reach example.org (X)"
    with i18n.speaking("ru"):
        assert views.reason(back) == "не удалось связаться с example.org (X)"
        # A reason stored as plain text by an older version is shown as it is.
        assert views.reason(Refusal.from_stored("the site took too long to answer")) == (
            "сайт слишком долго не отвечал"
        )
        assert views.reason(Refusal.from_stored("{not json")) == "{not json"


def test_updating_the_catalogs_twice_changes_nothing(tmp_path: Path, monkeypatch):
    import shutil

    copy = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, copy)
    monkeypatch.setattr(i18n, "LOCALES_DIR", copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.po")}
    assert i18n.update_catalogs() == []
    assert {p: p.read_bytes() for p in copy.rglob("*.po")} == before


# -- readers in their language, through the stand-in ---------------------------------------

# What each reader must see: (welcome, /help, the card's "previous" button, an error, the
# digest's header, the note under a summary in the article's language, English).
SEEN = {
    "ru": (
        "Привет, я Briefbot",
        "<b>Что я умею</b>",
        "◀ Назад",
        "Неизвестная длина пересказа «huge»",
        "Ваш дайджест · пятница, 27 ноября",
        "Пересказ на языке статьи: английский.",
    ),
    "es": (
        "Hola, soy Briefbot",
        "<b>Qué puedo hacer</b>",
        "◀ Anterior",
        "Extensión de resumen desconocida: «huge»",
        "Tu boletín del viernes, 27 de noviembre",
        "Resumen en el idioma del artículo: inglés.",
    ),
    "pt-br": (
        "Oi, eu sou o Briefbot",
        "<b>O que eu sei fazer</b>",
        "◀ Anterior",
        "Tamanho de resumo desconhecido: “huge”",
        "Seu boletim de sexta-feira, 27 de novembro",
        "Resumo no idioma do artigo: inglês.",
    ),
    "de": (
        "Hallo, ich bin Briefbot",
        "<b>Was ich kann</b>",
        "◀ Zurück",
        "Unbekannte Länge „huge“",
        "Dein Überblick für Freitag, 27. November",
        "Zusammenfassung in der Sprache des Artikels: Englisch.",
    ),
    "ar": (
        "مرحبًا، أنا Briefbot",
        "<b>ما يمكنني فعله</b>",
        "◀ السابق",
        "طول ملخص غير معروف «huge»",
        "نشرتك ليوم الجمعة، 27 نوفمبر",
        "الملخص بلغة المقال: الإنجليزية.",
    ),
    "xx": (
        "Hi, I'm Briefbot",
        "<b>What I can do</b>",
        "◀ Previous",
        "Unknown summary length “huge”",
        "Your digest for Friday, 27 November",
        None,
    ),
}
# Catalog texts that a reader of another language must never see.
ENGLISH = ("What I can do", "◀ Previous", "min read", "Your digest", "Next ▶", "Hi, I'm")


@pytest.mark.slow  # six readers, each through /start, /help, cards, an error and a digest
def test_each_reader_is_served_in_the_language_of_their_app(start_bot, api):
    bot = start_bot(schedule_digests=False)
    article = bot.services.library.add("Bridge", ARTICLE_TEXT).article
    assert article.language == "en"
    mark = api.mark()
    readers = {}
    for number, (code, seen) in enumerate(SEEN.items()):
        welcome_text, help_text, previous, error, _digest, note = seen
        user_id = 7000 + number
        api.user_languages[user_id] = code
        talk = readers[code] = Talk(api, api.private_chat(user_id), user_id)
        welcome, card = talk.say("/start", replies=2)
        assert welcome_text in welcome.params["text"]
        assert previous in [label for label, _data in buttons(card)]
        [shown] = talk.say("/help")
        assert shown.params["text"].startswith(help_text)
        [summary] = talk.say("/summary")
        assert previous in [label for label, _data in buttons(summary)]
        if note is None:
            assert "🌐" not in summary.params["text"]
        else:
            assert summary.params["text"].endswith(f"<i>{note}</i>")
        [refused] = talk.say("/summary huge")
        assert refused.params["text"].startswith(error)
        bot.services.chats.set_schedule(user_id, digest_time="08:00", timezone="UTC", now=LONG_AGO)

    bot.services.library.add("Market", f"{ARTICLE_TEXT} The market reopened.")  # news
    counts = bot.call(bot.application.bot_data.scheduler.run_due(MORNING))
    assert counts.sent == len(SEEN)
    for code, talk in readers.items():
        digest = api.sent_to(talk.chat_id)[-1]
        assert SEEN[code][4] in digest["text"]
        if SEEN[code][5]:
            assert SEEN[code][5] in digest["text"]
        if code != "xx":
            shown = [m["text"] for m in api.sent_to(talk.chat_id)] + [
                label
                for call in api.calls_since(mark)
                for label, _ in buttons(call)
                if call.params.get("chat_id") == talk.chat_id
            ]
            leaked = [text for text in shown for phrase in ENGLISH if phrase in text]
            assert leaked == []
    assert api.failed_calls(mark) == []  # every message was HTML Telegram accepts


def test_command_menus_are_registered_in_every_language(start_bot, api):
    mark = api.mark()
    start_bot()
    api.wait_for(mark, "setMyCommands", len(i18n.LANGUAGES))
    default = '{"type": "default"}'
    menus = {key: commands for key, commands in api.commands.items() if key.startswith(default)}
    assert set(menus) == {default} | {
        f"{default} {code}" for code in ("ru", "es", "pt", "de", "ar")
    }
    described = {
        key: {c["command"]: c["description"] for c in cmds} for key, cmds in menus.items()
    }
    assert described[default]["language"] == "The bot's language in this chat"
    assert described[f"{default} ru"]["language"] == "Язык бота в этом чате"
    assert described[f"{default} ar"]["summary"] == "ملخص المقال الحالي"
    assert all(set(d) == set(described[default]) for d in described.values())


@pytest.mark.slow
def test_language_is_set_per_chat_by_whoever_may(start_bot, api):
    start_bot()
    api.user_languages[READER_ID] = "ru"
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    status = texts(reader.say("/language"))[0]
    assert status.startswith("🌐 Язык бота здесь: Русский, как в вашем приложении Telegram.")
    assert "/language pt-br: Português (Brasil)" in status
    assert (
        texts(reader.say("/language de"))[0]
        == "✅ Ab jetzt ist die Sprache in diesem Chat: Deutsch."
    )
    assert texts(reader.say("/help"))[0].startswith("<b>Was ich kann</b>")
    status = texts(reader.say("/digest 07:30 Europe/Berlin"))[0]
    assert status.startswith("🔔 Überblick: 07:30 Europe/Berlin, täglich.\nNächster: ")
    assert any(f"{day}, " in status for day in get_day_names("wide", locale="de").values())
    back = texts(reader.say("/language auto"))[0]
    assert back == "✅ Теперь я следую языку вашего приложения Telegram (Русский)."
    assert texts(reader.say("/language klingon"))[0].startswith("Языка «klingon» я пока не знаю.")

    group = api.group_chat(GROUP_ID, admins={ADMIN_ID + 1})
    member, admin = Talk(api, group, READER_ID), Talk(api, group, ADMIN_ID + 1)
    assert "only this group's admins" in texts(member.say("/language de"))[0]
    assert (
        texts(admin.say("/language es"))[0]
        == "✅ Desde ahora, el idioma de este chat es: Español."
    )
    # The group speaks Spanish to everyone in it, whatever their own app's language.
    assert texts(member.say("/help"))[0].startswith("<b>Qué puedo hacer</b>")
    assert "solo los administradores de este grupo" in texts(member.say("/language ru"))[0]
    admin.say("/language auto")
    assert texts(member.say("/help"))[0].startswith("<b>What I can do</b>")


# -- summaries in the reader's language -----------------------------------------------------


def test_prompts_ask_for_the_reader_s_language():
    assert "Write in the language of the article." in prompt_text("x", SummaryLength.SHORT)
    asked = prompt_text("x", SummaryLength.SHORT, "ru")
    assert "Write in Russian, whatever the article's language." in asked
    assert "Write in Portuguese" in prompt_text("x", SummaryLength.LONG, "pt")


@pytest.fixture(scope="module")
def qwen_folder(tmp_path_factory) -> Path:
    return build_causal(tmp_path_factory.mktemp("tiny-qwen2-i18n"), "qwen2", context=1024)


SPANISH = (
    "El nuevo puente peatonal sobre el río Westford abrió el lunes tras dos años de obras. "
    "Une el casco antiguo con la estación de tren y ahorra diez minutos a pie. "
    "La obra costó a la ciudad unos dos millones de euros. "
    "El ayuntamiento espera que lo crucen cinco mil personas al día."
)


def test_an_instruct_model_summarizes_in_the_reader_s_language(start_bot, api, qwen_folder):
    model = load_summarizer(str(qwen_folder))
    assert model.writes_any_language
    bot = start_bot(model=model, precompute=False)
    article = bot.services.library.add("Puente", SPANISH, language="es").article
    api.user_languages[READER_ID] = "ru"
    mark = api.mark()
    [first] = Talk(api, api.private_chat(READER_ID), READER_ID).say("/summary")
    final = first if first.params.get("reply_markup") else edits_until_the_card(api, mark)[-1]
    text = final.params["text"]
    assert "🌐 Испанский" in text  # the article's language, in the header
    assert "Пересказ на языке статьи" not in text  # the summary is in the reader's
    library = bot.services.library
    translated = library.summary(article.content_hash, model.name, "standard:ru")
    assert translated and unescape(translated[:30]) in unescape(text)
    assert library.summary(article.content_hash, model.name, "standard") is None
    # A Spanish reader gets the article's own language: a summary of its own, cached apart.
    api.user_languages[READER_ID + 1] = "es"
    mark = api.mark()
    [first] = Talk(api, api.private_chat(READER_ID + 1), READER_ID + 1).say("/summary")
    if not first.params.get("reply_markup"):
        edits_until_the_card(api, mark)
    assert library.summary(article.content_hash, model.name, "standard") is not None
    assert api.failed_calls() == []


def test_a_digest_asks_the_model_once_per_readers_language(start_bot, api, qwen_folder):
    model = load_summarizer(str(qwen_folder))
    bot = start_bot(model=model, precompute=False, schedule_digests=False)
    chats = bot.services.chats
    for user_id, code in ((8001, "ru"), (8002, "de"), (8003, "ru"), (8004, "es")):
        api.user_languages[user_id] = code
        api.private_chat(user_id)
        chats.touch(ChatRef(user_id, "private", None, code))
        chats.set_schedule(user_id, digest_time="08:00", timezone="UTC", now=LONG_AGO)
    article = bot.services.library.add("Puente", SPANISH, language="es").article
    assert bot.call(bot.application.bot_data.scheduler.run_due(MORNING)).sent == 4
    library, short = bot.services.library, SummaryLength.SHORT.value
    for form in (f"{short}:ru", f"{short}:de", short):
        assert library.summary(article.content_hash, model.name, form), form
    assert "Zusammenfassung in der Sprache" not in api.sent_to(8002)[-1]["text"]
