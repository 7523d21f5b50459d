"""Articles in any language: sentences in every script, the language detected or declared and
kept, reading time by characters for Chinese and Japanese, summaries of whole sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from briefbot.articles import ArticleRejected
from briefbot.articles.extract import extract_article
from briefbot.articles.feeds import parse_feed
from briefbot.articles.language import detect_language, language_code, language_name
from briefbot.articles.text import reading_minutes
from briefbot.models import Document, SummaryLength
from briefbot.models.sentences import join_sentences, split_sentences, word_count
from tests.conftest import ADMIN_ID, Store, Talk

# Short news texts written for these tests, one sentence per item.
RUSSIAN = [
    "Новый пешеходный мост через реку Вестфорд открыли в понедельник после двух лет работ.",
    "Мост соединяет старый город с главным железнодорожным вокзалом.",
    "По словам мэра, строительство обошлось городу примерно в два миллиона евро.",
    "Жители много лет просили построить безопасную переправу для пешеходов и велосипедистов.",
    "Раньше им приходилось идти по узкому тротуару вдоль шумного шоссе.",
    "Теперь дорога от старого города до вокзала займёт не больше десяти минут!",
    "Городской совет планирует построить ещё два моста в 2027 г. на севере города.",
    "Инженеры говорят, что новый мост рассчитан на сто лет службы.",
]
CHINESE = [
    "韦斯特福德河上的新人行桥于周一正式开通。",
    "这座桥历时两年建成，连接老城区和火车站。",
    "市长表示，工程总耗资约两百万欧元。",
    "居民们多年来一直要求修建一座安全的过河通道。",
    "过去，他们只能沿着公路旁狭窄的人行道步行。",
    "现在，从老城区到火车站只需要十分钟！",
    "市议会计划在二〇二七年底前再建两座桥。",
    "工程师说，这座桥的设计使用寿命为一百年。",
]
ARABIC = [
    "افتتح جسر جديد للمشاة فوق نهر ويستفورد يوم الاثنين بعد عامين من البناء.",
    "ويربط الجسر البلدة القديمة بمحطة القطارات الرئيسية في المدينة.",
    "وقال رئيس البلدية إن تكلفة المشروع بلغت نحو مليوني يورو.",
    "وطالب السكان لسنوات طويلة بممر آمن للمشاة وراكبي الدراجات.",
    "هل كان الانتظار يستحق كل هذا الوقت؟",
    "يقول كثير من السكان إن الجواب نعم بلا شك.",
    "ويخطط المجلس البلدي لبناء جسرين آخرين قبل نهاية عام 2027.",
    "ويقول المهندسون إن الجسر صمم ليبقى مئة عام.",
]
SPANISH = (
    "El nuevo puente peatonal sobre el río Westford abrió el lunes tras dos años de obras. "
    "Según el alcalde, la obra costó unos dos millones de euros a la ciudad."
)


@pytest.mark.parametrize(
    ("language", "sentences"),
    [
        ("en", ["Dr. Smith met the U.S. envoy at 5 p.m. on Monday.", "They spoke for an hour."]),
        ("ru", RUSSIAN[5:]),
        ("el", ["Η νέα γέφυρα άνοιξε τη Δευτέρα.", "Η κατασκευή κράτησε δύο χρόνια."]),
        ("ar", ARABIC[3:6]),
        ("he", ["הגשר החדש נפתח ביום שני.", "הבנייה נמשכה שנתיים."]),
        ("hi", ["नया पुल सोमवार को खोला गया।", "इसे बनाने में दो साल लगे।"]),
        ("zh", CHINESE[:4]),
        ("ja", ["新しい橋が月曜日に開通した。", "建設には二年かかった。", "本当ですか？"]),
        ("th", ["วันนี้สะพานใหม่เปิดให้บริการแล้ว", "ผู้คนจำนวนมากมาร่วมงานเปิด"]),
    ],
)
def test_sentences_of_every_script(language: str, sentences: list[str]):
    joined = join_sentences(sentences)
    assert split_sentences(joined, language) == sentences
    # Without the language, the punctuation of every script still ends sentences (Thai has
    # none; the Russian sample has an abbreviation, "г.", that only Russian rules know).
    if language not in ("th", "ru"):
        assert split_sentences(joined) == sentences
    assert split_sentences(f"{joined}\n\n{joined}", language) == sentences * 2


def test_words_are_counted_in_scripts_without_spaces():
    assert word_count("The bridge opened on Monday.") == 5
    assert 10 <= word_count(CHINESE[0]) <= 15  # 19 characters, about 1.5 a word
    assert join_sentences(CHINESE[:2]) == CHINESE[0] + CHINESE[1]
    assert join_sentences(RUSSIAN[:2]) == f"{RUSSIAN[0]} {RUSSIAN[1]}"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (" ".join(RUSSIAN), "ru"),
        ("".join(CHINESE), "zh"),
        (" ".join(ARABIC), "ar"),
        (SPANISH, "es"),
        (
            "Die neue Fußgängerbrücke über den Fluss wurde am Montag nach zwei Jahren eröffnet.",
            "de",
        ),
        ("A nova ponte para pedestres foi inaugurada na segunda-feira depois de dois anos.", "pt"),
    ],
)
def test_the_language_of_a_text_is_detected(sample: str, expected: str):
    assert detect_language(sample) == expected


def test_a_declared_language_wins_and_bad_tags_are_ignored():
    assert detect_language(SPANISH, declared="pt-BR") == "pt"
    assert detect_language(SPANISH, declared="en_US") == "en"
    assert detect_language(SPANISH, declared="not a tag") == "es"
    assert detect_language(SPANISH, declared="xx") == "es"  # no such language
    assert detect_language("12 345 — 67 %") is None
    assert language_code("ZH-Hant-TW") == "zh" and language_code("") is None
    assert language_name("ru") == "Russian" and language_name("ru", "ru") == "Русский"


def test_reading_time_counts_characters_in_chinese_and_japanese():
    assert reading_minutes("word " * 2300) == 10
    assert reading_minutes("桥" * 2550, "zh") == 10
    assert reading_minutes("橋" * 3570, "ja") == 10
    assert reading_minutes("桥" * 2550 + " word" * 2300, "zh") == 20


def test_chinese_needs_fewer_characters_to_be_an_article(store: Store):
    assert store.library.add("新桥开通", "".join(CHINESE[:5])).created  # 94 characters
    with pytest.raises(ArticleRejected, match="at least 67 are needed"):
        store.library.add("新桥", "".join(CHINESE[:3]))
    with pytest.raises(ArticleRejected, match="at least 200 are needed"):
        store.library.add("Мост", " ".join(RUSSIAN[:2]))


def test_articles_keep_their_language(store: Store):
    russian = store.library.add("Мост открыли", " ".join(RUSSIAN)).article
    chinese = store.library.add("新桥开通", "".join(CHINESE)).article
    declared = store.library.add("Puente", SPANISH * 2, language="pt-BR").article
    assert (russian.language, chinese.language, declared.language) == ("ru", "zh", "pt")
    assert store.library.get(russian.id).language == "ru"


def test_upgrading_detects_the_language_of_stored_articles(database_url: str, tmp_path: Path):
    from alembic import command

    from briefbot.database import alembic_config, create_database_engine

    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path}/old.db"
    engine = create_database_engine(url)
    command.upgrade(alembic_config(engine), "0007")
    with engine.begin() as connection:
        for number, (title, body) in enumerate(
            [("Мост", " ".join(RUSSIAN)), ("桥", "".join(CHINESE)), ("-", "1 2 3")], start=1
        ):
            connection.execute(
                text(
                    "INSERT INTO articles (id, title, text, content_hash, added_at, origin) "
                    "VALUES (:id, :title, :text, :hash, CURRENT_TIMESTAMP, 'import')"
                ),
                {"id": number, "title": title, "text": body, "hash": f"h{number}"},
            )
    engine.dispose()
    store = Store.open(url)
    assert [a.language for a in store.library.get_many([1, 2, 3])] == ["ru", "zh", None]
    # The search index is filled for them by the same upgrade.
    assert [a.id for a in store.library.search("мост").articles] == [1]
    assert [a.id for a in store.library.search("桥").articles] == [2]
    store.close()


def test_pages_and_feeds_keep_the_language_they_declare():
    body = "".join(f"<p>{s}</p>" for s in RUSSIAN * 2)
    page = f'<html lang="ru-RU"><head><title>Мост</title></head><body><article>{body}'
    assert extract_article(page, "https://example.org/a").language == "ru"
    meta = f'<html><head><meta property="og:locale" content="es_ES"></head><body>{body}'
    assert extract_article(meta, "https://example.org/b").language == "es"
    assert extract_article(f"<html><body><article>{body}", "https://x.org/c").language is None
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Новости</title>'
        "<language>ru</language><item><title>Мост</title><link>https://example.org/m</link>"
        "<description>Мост открыли.</description></item></channel></rss>"
    )
    [entry] = parse_feed(feed.encode())[1]
    assert entry.language == "ru"
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ar"><title>أخبار</title>'
        "<entry><id>1</id><title>جسر</title><content>افتتح جسر.</content></entry></feed>"
    )
    assert parse_feed(atom.encode())[1][0].language == "ar"


@pytest.mark.parametrize(
    ("language", "sentences"), [("ru", RUSSIAN), ("zh", CHINESE), ("ar", ARABIC)]
)
def test_the_embedded_model_picks_whole_sentences_in_any_language(
    summarizer, language: str, sentences: list[str]
):
    article = join_sentences(sentences)
    for length in SummaryLength:
        [summary] = summarizer.summarize_many([Document(article, "", language)], length)
        picked = split_sentences(summary, language)
        assert len(picked) == length.sentences
        assert all(sentence in sentences for sentence in picked)


@pytest.mark.parametrize(
    ("title", "sentences", "language", "name"),
    [
        ("Мост открыли", RUSSIAN, "ru", "Russian"),
        ("新桥开通", CHINESE, "zh", "Chinese"),
        ("جسر جديد", ARABIC, "ar", "Arabic"),
    ],
)
def test_an_admin_adds_an_article_in_another_language_and_reads_its_summary(
    start_bot, api, title: str, sentences: list[str], language: str, name: str
):
    bot = start_bot()
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    _added, card = admin.say(f"{title}\n{join_sentences(sentences)}", replies=2)
    [article] = bot.services.library.latest(1)
    assert article.language == language
    header, summary, note = card.params["text"].split("\n\n")
    assert f"🌐 {name}" in header
    # The embedded model picks sentences of the article: the card says what language they are.
    assert note == f"<i>Summary in the article's language: {name}.</i>"
    picked = split_sentences(summary, article.language)
    assert len(picked) == SummaryLength.STANDARD.sentences
    assert all(sentence in sentences for sentence in picked)
