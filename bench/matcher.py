"""Benchmark the listening matcher and the lemmatizer.

Run: ``.venv/bin/python bench/matcher.py [--orgs 1000] [--per-org 10]
[--posts 20000] [--hit-rate 0.03]``.

Prints matcher build time (cold: SGJP expansion; warm: from the per-process
caches) and memory for 10,000 tracked queries across 1,000 organisations,
matching throughput on one core over generated ~30-word Polish/English
posts of which ~1–5 % mention a tracked term, and ``index_terms``
throughput.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from szpak.text import Matcher, expand_word, index_terms, parse  # noqa: E402
from szpak.text.lemmas import _word_terms, lemmas  # noqa: E402

POLISH_NOUNS = (
    "skarpeta cena paliwo opona samochód telefon bank konto kredyt sklep "
    "promocja dostawa paczka kurier reklamacja obsługa aplikacja bilet pociąg "
    "lot kawa herbata piwo mleko chleb ser jabłko pizza burger restauracja "
    "hotel wakacje ubezpieczenie rachunek prąd gaz internet sieć zasięg "
    "faktura rata karta bankomat kasa kolejka pracownik szef praca pensja "
    "podwyżka awaria serwis gwarancja zwrot buty kurtka koszula sukienka "
    "plecak laptop tablet ekran bateria ładowarka słuchawki zegarek rower "
    "hulajnoga tramwaj autobus mieszkanie czynsz remont farba drzwi okno"
).split()
POLISH_ADJ = (
    "zimowy letni tani drogi nowy stary szybki wolny darmowy elektryczny "
    "polski mobilny internetowy miejski rodzinny"
).split()
ENGLISH_WORDS = (
    "sock shoe price fuel tyre phone bank account loan shop delivery parcel "
    "courier refund support app ticket train flight coffee tea beer bread "
    "cheese pizza hotel holiday insurance bill power internet network card"
).split()
FILLER_PL = (
    "i w na z do że nie się to jest jak ale co tak już po od tylko dla "
    "czy był jestem mam ma był była dzisiaj wczoraj jutro znowu bardzo "
    "naprawdę chyba może ktoś wszyscy nikt coś tutaj tam teraz potem "
    "kupiłem kupiła zamówiłem czekam dostałem polecam nie polecam szkoda "
    "super świetnie fatalnie dramat serio ludzie znajomy sąsiad mama tata"
).split()
FILLER_EN = (
    "the a and to of in is it that for on with was my this just so but "
    "not you have at be are they we really today yesterday again very "
    "love hate waiting got ordered bought great awful seriously people"
).split()
SYLLABLES = (
    "ka ro ne to la mi bo sa fi ta po ve ri zo da lu me xi ko pa na go "
    "tek tex lux net max pol tron med kom bud eko fin trans soft"
).split()
BRAND_ENDINGS = ("", "", "o", "a", "ex", "on", "ix", "pol", "owo", "net", "ia", "er")


def make_brand(rng: random.Random) -> str:
    """A pronounceable, mostly unknown brand name."""
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return (name + rng.choice(BRAND_ENDINGS)).capitalize()


def make_queries(rng: random.Random, orgs: int, per_org: int) -> list[tuple[str, str]]:
    """``(query_id, query)`` pairs: brands, products, competitors, phrases,
    boolean queries; competitors and common words are shared across orgs."""
    shared_brands = [make_brand(rng) for _ in range(6000)]
    queries: list[tuple[str, str]] = []
    for org in range(orgs):
        own = make_brand(rng)
        for i in range(per_org):
            r = rng.random()
            if i == 0:
                q = own
            elif r < 0.30:
                q = rng.choice(shared_brands)
            elif r < 0.45:
                q = rng.choice(POLISH_NOUNS)
            elif r < 0.55:
                q = rng.choice(ENGLISH_WORDS)
            elif r < 0.70:
                q = f'"{rng.choice(POLISH_ADJ)} {rng.choice(POLISH_NOUNS)}"'
            elif r < 0.80:
                q = f'"{own} {rng.choice(POLISH_NOUNS)}"'
            else:
                a, b, c = rng.sample(POLISH_NOUNS, 3)
                q = f"{own} AND ({a} OR {b}) -{c}"
                if rng.random() < 0.3:
                    q += " lang:pl"
            queries.append((f"org{org}:q{i}", q))
    return queries


POST_NOUNS_PL = (
    "pogoda deszcz śnieg słońce spacer pies kot dziecko szkoła nauczyciel "
    "książka film serial mecz drużyna gol koncert muzyka piosenka zespół "
    "obiad kolacja śniadanie zupa ziemniaki kurczak ciasto urodziny święta "
    "wesele ślub wybory rząd minister ustawa podatek drogi korek parking "
    "lekarz przychodnia szpital kolano grypa weekend urlop góry morze jezioro"
).split()
POST_NOUNS_EN = (
    "weather rain snow sun walk dog cat kid school teacher book movie show "
    "match team goal concert music song band dinner lunch breakfast soup "
    "birthday wedding election government tax traffic doctor weekend lake"
).split()


def untracked(matcher: Matcher, vocabulary: list[str]) -> list[str]:
    """Words of ``vocabulary`` that match no tracked query."""
    return [w for w in vocabulary if not matcher.match(w)]


def make_posts(
    rng: random.Random, n: int, queries: list[tuple[str, str]], hit_rate: float, matcher: Matcher
) -> list[tuple[str, str]]:
    """``(text, lang)`` posts of ~30 words from vocabulary no query tracks;
    ``hit_rate`` of them mention an inflected form of a tracked term."""
    tracked = [q for _, q in queries if " " not in q]
    vocab = {
        "pl": (untracked(matcher, FILLER_PL), untracked(matcher, POST_NOUNS_PL)),
        "en": (untracked(matcher, FILLER_EN), untracked(matcher, POST_NOUNS_EN)),
    }
    posts: list[tuple[str, str]] = []
    for _ in range(n):
        lang = "pl" if rng.random() < 0.7 else "en"
        filler, nouns = vocab[lang]
        words = [rng.choice(filler) if rng.random() < 0.75 else rng.choice(nouns) for _ in range(rng.randint(24, 36))]
        if rng.random() < hit_rate:
            forms = sorted(expand_word(rng.choice(tracked)))
            words[rng.randrange(len(words))] = rng.choice(forms).capitalize()
        if rng.random() < 0.1:
            words.append("https://example.com/p/" + str(rng.randrange(10**6)))
        if rng.random() < 0.1:
            words.insert(0, "@" + rng.choice(nouns) + "@mastodon.social")
        if rng.random() < 0.1:
            words.append("#" + rng.choice(nouns))
        if rng.random() < 0.05:
            words.append("🧦🔥")
        posts.append((" ".join(words) + rng.choice([".", "!", "?", " :)"]), lang))
    return posts


def rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=10)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--hit-rate", type=float, default=0.03)
    args = parser.parse_args()
    rng = random.Random(42)

    raw = make_queries(rng, args.orgs, args.per_org)
    t0 = time.perf_counter()
    parsed = [(qid, parse(q)) for qid, q in raw]
    t_parse = time.perf_counter() - t0
    rss_before = rss_mb()
    t0 = time.perf_counter()
    matcher = Matcher.build(parsed)
    t_cold = time.perf_counter() - t0
    rss_after = rss_mb()
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    warm = Matcher.build(parsed)
    t_warm_traced = time.perf_counter() - t0
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del warm
    t0 = time.perf_counter()
    Matcher.build(parsed)
    t_warm = time.perf_counter() - t0
    stats = matcher.stats()
    print(f"queries: {len(raw)} across {args.orgs} orgs; {stats}")
    print(f"parse: {t_parse:.2f} s ({len(raw) / t_parse:,.0f} queries/s)")
    print(f"build cold (SGJP expansion): {t_cold:.2f} s; warm rebuild (cached expansions): {t_warm:.2f} s")
    print(f"matcher structures: {current / 2**20:.1f} MB (tracemalloc); process peak RSS {rss_after:.0f} MB "
          f"(+{rss_after - rss_before:.0f} MB during cold build, incl. caches) [traced build {t_warm_traced:.1f} s]")

    posts = make_posts(rng, args.posts, raw, args.hit_rate, matcher)
    for text, lang in posts[:2000]:  # warm-up
        matcher.match(text, lang)
    runs = []
    for _ in range(3):  # best of 3: the machine may be shared
        matched = 0
        t0 = time.perf_counter()
        for text, lang in posts:
            if matcher.match(text, lang):
                matched += 1
        runs.append(time.perf_counter() - t0)
    t_match = min(runs)
    words = sum(len(t.split()) for t, _ in posts)
    print(f"match: {len(posts) / t_match:,.0f} posts/s on one core, best of 3 "
          f"(median {len(posts) / sorted(runs)[1]:,.0f}) "
          f"({t_match / len(posts) * 1e6:.1f} µs/post, {words / len(posts):.0f} words/post, "
          f"{matched / len(posts):.1%} of posts matched ≥1 query)")

    lemmas.cache_clear()
    _word_terms.cache_clear()
    sample = posts[:5000]
    t0 = time.perf_counter()
    n_terms = sum(len(index_terms(t)) for t, _ in sample)
    t_cold_idx = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t, _ in sample:
        index_terms(t)
    t_warm_idx = time.perf_counter() - t0
    print(f"index_terms: cold lemma cache {len(sample) / t_cold_idx:,.0f} posts/s; "
          f"warm {len(sample) / t_warm_idx:,.0f} posts/s ({len(sample) * words / len(posts) / t_warm_idx:,.0f} words/s); "
          f"{n_terms / len(sample):.0f} terms/post")


if __name__ == "__main__":
    main()
