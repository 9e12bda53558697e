"""A web crawl in miniature, generated on the spot, with planted defects whose ground truth is known.

`web_corpus(seed)` returns pages as dicts:

    {"url": ..., "html": ..., "language": "en" | "de" | "fr" | "ru" | "el" | "zh",
     "kind": "article" | "ads" | "toc" | "spam" | "stub" | "teaser" | "numbers",
     "duplicate_of": index of the page it copies, or None,
     "copy": None | "identical" | "whitespace" | "case" | "nfd" | "near",
     "edit_rate": the share of words replaced in a near duplicate (0.0 otherwise)}

Articles (English stories from `coursekit.corpus`, or sentences in five other languages) are wrapped
in a site template: a <style> and a <script>, a navigation bar, an advert box and a footer. The other
kinds are junk a quality filter should drop: hashtag adverts, tables of contents, keyword spam,
stubs, "read more..." teaser lists, and tables of numbers. Copies of articles follow at the end:
exact duplicates (byte-identical, re-indented, upper-cased, or in Unicode NFD form) and near
duplicates with a known share of their words replaced. Nothing is downloaded; the same seed gives
the same pages.
"""
import random
import unicodedata

from coursekit.corpus import ADJECTIVES, ANIMALS, NAMES, PLACES, THINGS, generate_story

FOREIGN_WORDS = {
    "de": "Haus Baum Straße Fluss Garten Schule Brücke Stadt Wald Mädchen Junge Hund Katze Vogel Buch Tür "
          "Fenster Lampe geht läuft sieht findet trägt öffnet schläft grün groß klein schön alt neu".split(),
    "fr": "maison arbre rue rivière jardin école pont ville forêt fille garçon chien chat oiseau livre porte "
          "fenêtre lampe marche court voit trouve porte ouvre dort vert grand petit beau âgé nouveau".split(),
    "ru": "дом дерево улица река сад школа мост город лес девочка мальчик собака кошка птица книга дверь "
          "окно лампа идёт бежит видит находит несёт открывает спит зелёный большой маленький".split(),
    "el": "σπίτι δέντρο δρόμος ποτάμι κήπος σχολείο γέφυρα πόλη δάσος κορίτσι αγόρι σκύλος γάτα πουλί "
          "βιβλίο πόρτα παράθυρο λάμπα περπατά τρέχει βλέπει βρίσκει ανοίγει κοιμάται πράσινος".split(),
    "zh": "房子 大树 街道 河流 花园 学校 小桥 城市 森林 女孩 男孩 小狗 小猫 小鸟 书本 门口 窗户 灯光 走路 "
          "奔跑 看见 找到 打开 睡觉 绿色 很大 很小 美丽".split(),
}
STYLE = "<style>body { font-family: sans-serif; } .ad { color: #c00; } p > a::after { content: '→'; }</style>"
SCRIPT = ("<script>window.dataLayer = window.dataLayer || []; if (a < b && b > 0) { track('view'); }"
          "</script>")
NAV = '<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></nav>'
FOOTER = "<footer>© 2026 Example Web &middot; Imprint &amp; Privacy</footer>"
SPAM_WORDS = "cheap pills buy online discount pharmacy best price free shipping casino bonus win".split()
NEAR_EDIT_RATES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
COPY_KINDS = ("identical", "whitespace", "case", "nfd")


def page(title: str, body: str, template: bool = True) -> str:
    """An HTML page: the site template (style, script, navigation, advert, footer) around `body`."""
    if not template:
        return f"<html><head><title>{title}</title></head><body>{body}</body></html>"
    advert = '<div class="ad">Sponsored: Win a free cruise &ndash; click here!</div>'
    return (f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title>\n{STYLE}\n{SCRIPT}\n</head>\n<body>\n"
            f"{NAV}\n<!-- main content -->\n<article>\n{body}\n</article>\n{advert}\n{FOOTER}\n</body>\n</html>\n")


def paragraphs_html(paragraphs: list[str]) -> str:
    escaped = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in paragraphs]
    return "\n".join(f"<p>{p}</p>" for p in escaped)


def english_article(rng: random.Random) -> tuple[str, list[str]]:
    title = f"{rng.choice(NAMES)} and the {rng.choice(ADJECTIVES)} {rng.choice(ANIMALS)} at the café"
    return title, [generate_story(rng) for _ in range(rng.randint(2, 4))]


def foreign_sentence(rng: random.Random, words: list[str], language: str) -> str:
    chosen = [rng.choice(words) for _ in range(rng.randint(5, 10))]
    return ("".join(chosen) + "。") if language == "zh" else (" ".join(chosen).capitalize() + ".")


def foreign_article(rng: random.Random, language: str) -> tuple[str, list[str]]:
    words = FOREIGN_WORDS[language]
    join = "" if language == "zh" else " "
    paragraphs = [join.join(foreign_sentence(rng, words, language) for _ in range(rng.randint(5, 9)))
                  for _ in range(rng.randint(2, 4))]
    return rng.choice(words).capitalize(), paragraphs


def junk_page(rng: random.Random, kind: str) -> str:
    """One page of a junk kind, each made to look like what crawls are full of."""
    if kind == "ads":
        tags = " ".join(f"#{rng.choice(SPAM_WORDS)}" for _ in range(rng.randint(12, 20)))
        offer = f"Buy the {rng.choice(ADJECTIVES)} {rng.choice(THINGS)} now at the best price of the year"
        return page("Deals", "\n".join(f"<p>{offer} {tags}</p>" for _ in range(rng.randint(3, 5))))
    if kind == "toc":
        items = "\n".join(f"<li>- Chapter {i}: The {rng.choice(ADJECTIVES)} {rng.choice(PLACES)}</li>"
                          for i in range(1, rng.randint(30, 45)))
        return page("Contents", f"<ul>\n{items}\n</ul>", template=False)
    if kind == "spam":
        lines = [" ".join(rng.choice(SPAM_WORDS) for _ in range(rng.randint(8, 14))) for _ in range(rng.randint(5, 9))]
        return page("Cheap pills online", "\n".join(f"<p>{line}</p>" for line in lines), template=False)
    if kind == "stub":
        return page("Not found", f"<h1>Page not found</h1><p>The {rng.choice(THINGS)} you wanted has moved.</p>")
    if kind == "teaser":
        items = "\n".join(f"<p>{generate_story(rng)[:rng.randint(40, 90)].rstrip()}...</p>"
                          for _ in range(rng.randint(8, 14)))
        return page("Latest stories", items, template=False)
    if kind == "numbers":
        rows = "\n".join("<tr>" + " ".join(f"<td>{rng.randint(0, 99999)}</td>" for _ in range(6)) + "</tr>"
                         for _ in range(rng.randint(15, 25)))
        return page("Prices", f"<p>Price list of the {rng.choice(THINGS)} market</p>\n<table>\n{rows}\n</table>")
    raise ValueError(kind)


def edit_words(rng: random.Random, text: str, rate: float) -> str:
    """`text` with a share `rate` of its words (chosen at random) replaced by other words."""
    words = text.split(" ")
    replacements = THINGS + ANIMALS + PLACES
    for i in rng.sample(range(len(words)), max(1, round(rate * len(words)))):
        words[i] = rng.choice([w for w in replacements if w != words[i]])
    return " ".join(words)


def copy_of(title: str, paragraphs: list[str], how: str) -> str:
    """An exact duplicate after normalisation: the same page, re-indented, upper-cased or in NFD."""
    html = page(title, paragraphs_html(paragraphs))
    if how == "whitespace":
        return html.replace("\n", "\n  ").replace(". ", ".  ")
    if how == "case":
        return page(title.upper(), paragraphs_html([p.upper() for p in paragraphs]))
    if how == "nfd":
        return unicodedata.normalize("NFD", html)
    return html


def web_corpus(seed: int = 0, n_articles: int = 120, n_foreign: int = 30, n_junk: int = 42,
               n_exact: int = 24, n_near: int = 36) -> list[dict]:
    """The generated crawl: articles, foreign-language articles and junk pages in random order, then
    exact copies and near copies of randomly chosen English articles."""
    rng = random.Random(seed)
    pages = []
    texts = {}  # page index -> (title, paragraphs) of English articles, to copy from
    kinds = ["article"] * n_articles + ["foreign"] * n_foreign
    kinds += [("ads", "toc", "spam", "stub", "teaser", "numbers")[i % 6] for i in range(n_junk)]
    rng.shuffle(kinds)
    for kind in kinds:
        language = rng.choice(sorted(FOREIGN_WORDS)) if kind == "foreign" else "en"
        if kind in ("article", "foreign"):
            title, paragraphs = english_article(rng) if kind == "article" else foreign_article(rng, language)
            if kind == "article":
                texts[len(pages)] = (title, paragraphs)
            html = page(title, paragraphs_html(paragraphs))
            kind = "article"
        else:
            html = junk_page(rng, kind)
        pages.append({"url": f"https://example.web/{len(pages)}", "html": html, "language": language,
                      "kind": kind, "duplicate_of": None, "copy": None, "edit_rate": 0.0})
    originals = sorted(texts)
    for i in range(n_exact + n_near):
        source = rng.choice(originals)
        title, paragraphs = texts[source]
        if i < n_exact:
            how, rate = COPY_KINDS[i % len(COPY_KINDS)], 0.0
            html = copy_of(title, paragraphs, how)
        else:
            how, rate = "near", NEAR_EDIT_RATES[i % len(NEAR_EDIT_RATES)]
            html = page(title, paragraphs_html([edit_words(rng, p, rate) for p in paragraphs]))
        pages.append({"url": f"https://example.web/{len(pages)}", "html": html, "language": "en",
                      "kind": "article", "duplicate_of": source, "copy": how, "edit_rate": rate})
    return pages
