"""``szpak demo``: seed a small living world so that a newcomer sees a populated site at once.

Kraków, a sock shop, a bank, a telecom, a newspaper, the city and a handful of
people: complaints and praise that brands answer at once, news links, a tram
breakdown notice, an earthquake rumour the city puts to rest, follows,
favourites and boosts.

Everything goes through domain actions, exactly as the API would do it, so the
events, notifications, search index and jobs are the real ones. Running it again
adds nothing twice: accounts are looked up by username, posts by author and
text, and following, favouriting and boosting are idempotent actions.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

if TYPE_CHECKING:
    from szpak.domain.context import Context
    from szpak.storage.models import Account

DEMO_PASSWORD = "szpak-demo"
EMAIL_DOMAIN = "demo.szpak.example"


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    kind: str
    note: str


@dataclass(frozen=True)
class Post:
    key: str
    author: str
    text: str
    reply_to: str | None = None
    language: str = "pl"


PEOPLE = (
    Person("skarpetkowo", "Skarpetkowo 🧦", "brand", "Kolorowe skarpetki z Krakowa. Odpowiadamy od 8 do 22."),
    Person("bankwislany", "Bank Wiślany", "brand", "Bank, który odpisuje. Nigdy nie prosimy o hasła ani kody."),
    Person("zasieg_mobile", "Zasięg Mobile", "brand", "Sieć komórkowa. Awarie i pytania: piszcie, odpowiadamy od razu."),
    Person("dziennik_krakowski", "Dziennik Krakowski", "media", "Wiadomości z Krakowa i Małopolski."),
    Person("krakow", "Miasto Kraków", "institution", "Oficjalne konto Urzędu Miasta Krakowa. Komunikaty i utrudnienia."),
    Person("ania_nowak", "Anna Nowak", "person", "Kazimierz, kawa i książki."),
    Person("kuba_wisniewski", "Jakub Wiśniewski", "person", "Programista, rowerzysta, smakosz pierogów."),
    Person("zofia_kaminska", "Zofia Kamińska", "person", "Mama dwójki dzieci, walczę ze smogiem."),
    Person("marek_lewandowski", "Marek Lewandowski", "person", "W tygodniu biuro, w weekend Tatry."),
    Person("ola_wojcik", "Aleksandra Wójcik", "person", "Bronowice. Muzyka na żywo."),
    Person("piotr_zielinski", "Piotr Zieliński", "person", "Płacę rachunki i narzekam. Czasem chwalę."),
    Person("kasia_szymanska", "Katarzyna Szymańska", "person", "Grzegórzki. Zdjęcia Wisły."),
    Person("tomek_dabrowski", "Tomasz Dąbrowski", "person", "Skarpetki nie do pary to styl życia."),
    Person("emma_in_krakow", "Emma Clarke", "person", "English teacher living in Kraków. Uczę się polskiego!"),
)

D = "https://dziennik-krakowski.example"

POSTS = (
    # Skarpetkowo: a launch, a complaint answered at once, praise, a campaign.
    Post("sock-launch", "skarpetkowo", "Nowa kolekcja zimowa już w sklepie! Wełniane skarpetki w góralskie wzory 🧦 #skarpetki #Kraków"),
    Post("sock-late", "ania_nowak", "Zamówiłam skarpetki w @skarpetkowo tydzień temu i dalej nic nie przyszło. Ktoś też tak ma? #skarpetki"),
    Post("sock-late-re", "skarpetkowo", "@ania_nowak Przepraszamy! Paczka utknęła w sortowni. Dziś wysyłamy nową ekspresem, na nasz koszt.", "sock-late"),
    Post("sock-late-thanks", "ania_nowak", "@skarpetkowo Dzięki za szybką odpowiedź, to się nazywa obsługa 👏", "sock-late-re"),
    Post("sock-praise", "kuba_wisniewski", "Skarpetki ze @skarpetkowo przetrwały 50 prań i dalej są jak nowe. Polecam! #skarpetki"),
    Post("sock-praise-re", "skarpetkowo", "@kuba_wisniewski Dziękujemy, to najlepsza recenzja! 🧦", "sock-praise"),
    Post("sock-emma", "emma_in_krakow", "Bought the mountain-pattern socks from @skarpetkowo as souvenirs. My toes are very happy. #Kraków", language="en"),
    Post("sock-emma-re", "skarpetkowo", "@emma_in_krakow Thank you! Enjoy Kraków and keep those toes warm.", "sock-emma", "en"),
    Post("sock-pink", "zofia_kaminska", "Skarpetki od @skarpetkowo pofarbowały mi całe pranie na różowo 😤 #skarpetki"),
    Post("sock-pink-re", "skarpetkowo", "@zofia_kaminska Bardzo nam przykro! Napisz do nas prywatnie: zwrócimy pieniądze i pokryjemy koszt prania.", "sock-pink"),
    Post("sock-testers", "skarpetkowo", "Szukamy testerów! 20 osób dostanie nowe skarpetki trekkingowe do przetestowania. Zgłoszenia w odpowiedziach 👇 #skarpetki"),
    Post("sock-testers-marek", "marek_lewandowski", "@skarpetkowo Zgłaszam się! Chodzę po Tatrach co weekend.", "sock-testers"),
    Post("sock-testers-ola", "ola_wojcik", "@skarpetkowo Ja też chętnie przetestuję 🙋‍♀️", "sock-testers"),
    Post("sock-odd", "tomek_dabrowski", "Skarpetki nie do pary to styl życia. #skarpetki"),
    Post("sock-odd-re", "skarpetkowo", "@tomek_dabrowski Mamy na to zestaw „Nie do pary” 😉 Trzy różne skarpetki w komplecie!", "sock-odd"),
    # Bank Wiślany: an outage, a phishing warning, a question in English.
    Post("bank-blik", "bankwislany", "Od poniedziałku wypłaty BLIK bez prowizji we wszystkich bankomatach w Krakowie."),
    Post("bank-down", "piotr_zielinski", "@bankwislany aplikacja znowu nie działa, nie mogę zrobić przelewu, a muszę zapłacić czynsz 😡"),
    Post("bank-down-re", "bankwislany", "@piotr_zielinski Przepraszamy! Trwa awaria logowania w aplikacji, już ją naprawiamy. Przelew zrobisz teraz w serwisie internetowym.", "bank-down"),
    Post("bank-up", "bankwislany", "Aplikacja znowu działa. Dziękujemy za cierpliwość i przepraszamy za utrudnienia."),
    Post("bank-fast", "kasia_szymanska", "Założyłam konto w @bankwislany w 10 minut, przez telefon. Szacun."),
    Post("bank-sms", "tomek_dabrowski", "Czy tylko ja dostałem SMS od „banku” z linkiem do dopłaty 1,99 zł? @bankwislany to wy?"),
    Post("bank-sms-re", "bankwislany", "@tomek_dabrowski To oszustwo! Nigdy nie wysyłamy linków do dopłat w SMS-ach. Nie klikaj i przekaż wiadomość na numer 8080.", "bank-sms"),
    Post("bank-emma", "emma_in_krakow", "Does anyone know if @bankwislany lets foreigners open an account with just a passport?", language="en"),
    Post("bank-emma-re", "bankwislany", "@emma_in_krakow Yes, a passport is enough. Visit any branch or start online; our staff speak English.", "bank-emma", "en"),
    # Zasięg Mobile: a network failure fixed, a billing mistake.
    Post("tel-5g", "zasieg_mobile", "Rozbudowaliśmy sieć 5G w Nowej Hucie i w Podgórzu. Sprawdźcie zasięg! #5G #Kraków"),
    Post("tel-down", "marek_lewandowski", "@zasieg_mobile trzeci dzień bez internetu na Kazimierzu. Płacę za 5G, a mam 0G."),
    Post("tel-down-re", "zasieg_mobile", "@marek_lewandowski Przepraszamy! Uszkodzona stacja bazowa na Kazimierzu; serwis naprawi ją do wieczora, a za te dni dostaniesz rabat.", "tel-down"),
    Post("tel-down-ok", "marek_lewandowski", "@zasieg_mobile Działa! Dzięki za rabat.", "tel-down-re"),
    Post("tel-praise", "ola_wojcik", "Rozmowa z infolinią @zasieg_mobile trwała 3 minuty i sprawa załatwiona. Tak można!"),
    Post("tel-bill", "piotr_zielinski", "Rachunek od @zasieg_mobile wyższy o 40 zł bez żadnego wyjaśnienia. Serio?"),
    Post("tel-bill-re", "zasieg_mobile", "@piotr_zielinski Sprawdzamy od razu. To błędnie naliczony roaming; korekta pojawi się na następnej fakturze.", "tel-bill"),
    # Dziennik Krakowski: news links.
    Post("news-bridge", "dziennik_krakowski", f"Nowy most na Wiśle będzie gotowy w 2026 roku. Co zmieni się dla kierowców? {D}/2024/most-na-wisle #Kraków"),
    Post("news-smog", "dziennik_krakowski", f"Smog w Krakowie: w tym tygodniu normy przekroczone trzykrotnie. {D}/2024/smog #Kraków #smog"),
    Post("news-smog-zofia", "zofia_kaminska", "@dziennik_krakowski Znowu? Dzieci nie mogą wyjść na dwór.", "news-smog"),
    Post("news-market", "dziennik_krakowski", f"Kraków's Christmas market opens on Friday on the Main Square. {D}/en/christmas-market #Kraków", language="en"),
    Post("news-socks", "dziennik_krakowski", f"Przetestowaliśmy zimowe skarpetki z pięciu krakowskich sklepów. Wygrało @skarpetkowo {D}/2024/test-skarpetek #skarpetki"),
    # Miasto Kraków: a tram breakdown.
    Post("tram", "krakow", "KOMUNIKAT: awaria tramwaju na rondzie Mogilskim. Linie 4, 10 i 52 jadą objazdem przez ul. Lubicz. Utrudnienia potrwają ok. godziny. #Kraków #MPK"),
    Post("tram-kasia", "kasia_szymanska", "@krakow Stoję w tramwaju od 20 minut, dzięki za info.", "tram"),
    Post("tram-kasia-re", "krakow", "@kasia_szymanska Przepraszamy. Na przystanku Rondo Mogilskie czekają autobusy zastępcze.", "tram-kasia"),
    Post("tram-over", "krakow", "AKTUALIZACJA: tramwaj usunięty z torowiska, linie 4, 10 i 52 wróciły na stałe trasy. #MPK", "tram"),
    Post("tram-news", "dziennik_krakowski", f"Awaria tramwaju na rondzie Mogilskim sparaliżowała centrum. Relacja: {D}/2024/awaria-tramwaju #Kraków"),
    # An earthquake rumour, put to rest by the city.
    Post("quake", "tomek_dabrowski", "Czy ktoś czuł trzęsienie ziemi w Krakowie?! Szklanki brzęczały mi w szafce. #trzęsienieziemi"),
    Post("quake-ola", "ola_wojcik", "@tomek_dabrowski Też coś poczułam na Bronowicach! Co to było?", "quake"),
    Post("quake-piotr", "piotr_zielinski", "@tomek_dabrowski Podobno trzęsienie ziemi na Podhalu, ktoś pisał, że 4 w skali Richtera", "quake"),
    Post("quake-emma", "emma_in_krakow", "@tomek_dabrowski Was that an earthquake?? My desk shook in Kazimierz.", "quake", "en"),
    Post("quake-news", "dziennik_krakowski", "@tomek_dabrowski Sprawdzamy doniesienia o wstrząsach w Krakowie. Ostrożnie z niepotwierdzonymi informacjami.", "quake"),
    Post("quake-city", "krakow", "@tomek_dabrowski To NIE było trzęsienie ziemi. Wstrząs spowodowały planowane prace wyburzeniowe przy ul. Zabłocie. Nie ma zagrożenia. #trzęsienieziemi #Kraków", "quake"),
    Post("quake-thanks", "tomek_dabrowski", "@krakow Uff, dziękuję za szybkie wyjaśnienie!", "quake-city"),
    Post("quake-denied", "dziennik_krakowski", f"Miasto dementuje: to nie było trzęsienie ziemi, tylko wyburzenie na Zabłociu. {D}/2024/to-nie-trzesienie #Kraków"),
    # Everyday life.
    Post("coffee", "ania_nowak", "Dzień dobry, Kraków! Kawa na Kazimierzu i zaraz do pracy ☕ #Kraków"),
    Post("pierogi", "kuba_wisniewski", "Ktoś poleci dobre pierogi w okolicy Rynku? #Kraków"),
    Post("pierogi-zofia", "zofia_kaminska", "@kuba_wisniewski Przodownik na Krupniczej, ruskie są najlepsze!", "pierogi"),
    Post("tatry", "marek_lewandowski", "Weekend w Tatrach: Morskie Oko o świcie, zero ludzi. Polecam wyjść o 5 rano 🏔️"),
    Post("szczebrzeszyn", "emma_in_krakow", "Three months in Kraków and I can finally say „Szczebrzeszyn” without laughing. Progress! 🇵🇱", language="en"),
    Post("wisla", "kasia_szymanska", "Wisła o zachodzie słońca. Nie mam pytań. #Kraków"),
    Post("wawel", "piotr_zielinski", "Czy Wawel jest dziś otwarty dla zwiedzających?"),
    Post("wawel-re", "krakow", "@piotr_zielinski Tak, Wawel jest dziś otwarty w godz. 9:30–17:00. Wstęp na dziedziniec jest bezpłatny.", "wawel"),
    Post("concert", "ola_wojcik", "Kto idzie jutro na koncert na Rynku? 🎶 #Kraków"),
    Post("offices", "krakow", "Od 1 grudnia nowe godziny otwarcia urzędów miejskich: pon.–pt. 7:30–17:30. #Kraków"),
    Post("roadworks", "kasia_szymanska", "@krakow Kiedy wreszcie skończą się remonty na Grzegórzkach?"),
    Post("roadworks-re", "krakow", "@kasia_szymanska Prace na ul. Grzegórzeckiej zakończą się w marcu. Szczegóły w komunikacie ZDMK.", "roadworks"),
)

PEOPLE_NAMES = tuple(p.username for p in PEOPLE if p.kind == "person")
ORGANISATIONS = tuple(p.username for p in PEOPLE if p.kind != "person")

#: Who follows whom: every person follows the city and the newspaper, plus these.
FOLLOWS = (
    ("ania_nowak", ("skarpetkowo", "kuba_wisniewski", "kasia_szymanska", "emma_in_krakow")),
    ("kuba_wisniewski", ("skarpetkowo", "ania_nowak", "marek_lewandowski", "zasieg_mobile")),
    ("zofia_kaminska", ("skarpetkowo", "ania_nowak", "kasia_szymanska")),
    ("marek_lewandowski", ("zasieg_mobile", "kuba_wisniewski", "ola_wojcik")),
    ("ola_wojcik", ("zasieg_mobile", "marek_lewandowski", "tomek_dabrowski", "emma_in_krakow")),
    ("piotr_zielinski", ("bankwislany", "zasieg_mobile", "tomek_dabrowski")),
    ("kasia_szymanska", ("bankwislany", "ania_nowak", "zofia_kaminska")),
    ("tomek_dabrowski", ("skarpetkowo", "bankwislany", "ola_wojcik", "piotr_zielinski")),
    ("emma_in_krakow", ("skarpetkowo", "bankwislany", "ania_nowak", "ola_wojcik")),
    ("skarpetkowo", ("dziennik_krakowski",)),
    ("dziennik_krakowski", ("krakow",)),
)

FAVOURITES = (
    ("ania_nowak", ("sock-late-re", "coffee", "wisla", "tram", "quake-city")),
    ("kuba_wisniewski", ("sock-praise-re", "pierogi-zofia", "tatry", "news-bridge")),
    ("zofia_kaminska", ("sock-pink-re", "news-smog", "coffee")),
    ("marek_lewandowski", ("tel-down-re", "sock-testers", "tatry")),
    ("ola_wojcik", ("tel-praise", "concert", "quake-city", "szczebrzeszyn")),
    ("piotr_zielinski", ("bank-down-re", "tel-bill-re", "wawel-re")),
    ("kasia_szymanska", ("tram-kasia-re", "roadworks-re", "bank-fast")),
    ("tomek_dabrowski", ("bank-sms-re", "quake-city", "sock-odd-re")),
    ("emma_in_krakow", ("sock-emma-re", "bank-emma-re", "news-market", "wisla")),
    ("skarpetkowo", ("sock-late-thanks", "sock-praise", "news-socks")),
    ("bankwislany", ("bank-fast",)),
    ("zasieg_mobile", ("tel-praise", "tel-down-ok")),
)

REBLOGS = (
    ("ania_nowak", ("tram", "quake-city")),
    ("kasia_szymanska", ("tram",)),
    ("tomek_dabrowski", ("quake-city", "bank-sms-re")),
    ("ola_wojcik", ("quake-city",)),
    ("zofia_kaminska", ("news-smog",)),
    ("emma_in_krakow", ("news-market", "szczebrzeszyn")),
    ("skarpetkowo", ("news-socks", "sock-testers")),
    ("dziennik_krakowski", ("quake-city", "tram-over")),
)


@dataclass
class Tally:
    """What a run added, so that a second run can show it added nothing."""

    accounts: int = 0
    posts: int = 0


async def _account(ctx: Context, person: Person, password: str, tally: Tally) -> Account:
    from szpak.domain.accounts import create_user, get_local_account
    from szpak.domain.errors import NotFound
    from szpak.storage.models import Account

    async with ctx.tx() as tx:
        try:
            return await get_local_account(tx, person.username)
        except NotFound:
            pass
        user = await create_user(
            tx, username=person.username, email=f"{person.username}@{EMAIL_DOMAIN}", password=password,
            kind=person.kind, display_name=person.display_name, note=person.note,
            locale="en" if person.username == "emma_in_krakow" else "pl",
        )
        tally.accounts += 1
        account = await tx.session.get(Account, user.account_id)
        assert account is not None
        return account


async def _post(ctx: Context, post: Post, author: Account, parent_id: int | None, tally: Tally) -> int:
    from szpak.domain.statuses import StatusDraft, create_status
    from szpak.storage.models import Status

    async with ctx.tx() as tx:
        existing = await tx.session.scalar(
            select(Status.id).where(
                Status.account_id == author.id, Status.text == post.text, Status.reblog_of_id.is_(None)
            ).limit(1)
        )
        if existing is not None:
            return int(existing)
        draft = StatusDraft(text=post.text, language=post.language, in_reply_to_id=parent_id)
        status = await create_status(tx, author, draft)
        tally.posts += 1
        return status.id


async def seed(ctx: Context, *, password: str = DEMO_PASSWORD) -> Tally:
    """Create (or complete) the demo world in the database behind ``ctx``."""
    from szpak.domain import interactions, relationships, statuses

    tally = Tally()
    accounts = {p.username: await _account(ctx, p, password, tally) for p in PEOPLE}
    ids: dict[str, int] = {}
    for post in POSTS:
        parent = ids[post.reply_to] if post.reply_to else None
        ids[post.key] = await _post(ctx, post, accounts[post.author], parent, tally)
    async with ctx.tx() as tx:
        for name, targets in FOLLOWS:
            for target in targets:
                await relationships.follow(tx, accounts[name], accounts[target].id)
        for name in PEOPLE_NAMES:
            for target in ("krakow", "dziennik_krakowski"):
                await relationships.follow(tx, accounts[name], accounts[target].id)
    async with ctx.tx() as tx:
        for name, keys in FAVOURITES:
            for key in keys:
                await interactions.favourite(tx, accounts[name], ids[key])
        for name, keys in REBLOGS:
            for key in keys:
                await statuses.reblog(tx, accounts[name], ids[key])
    return tally


async def _run(args: argparse.Namespace) -> int:
    from szpak.cli import open_context

    ctx = await open_context()
    try:
        tally = await seed(ctx, password=args.password)
    finally:
        await ctx.db.dispose()
    print(f"Demo world ready at {ctx.settings.base_url}/ : {tally.accounts} accounts and {tally.posts} posts added.")
    print(f"Log in as any of these (password: {args.password}):")
    width = max(len(p.username) for p in PEOPLE)
    mail_width = width + len(EMAIL_DOMAIN) + 1
    for p in PEOPLE:
        email = f"{p.username}@{EMAIL_DOMAIN}"
        print(f"  {p.username:<{width}}  {email:<{mail_width}}  {p.kind:<11}  {p.display_name}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser("demo", help="seed a small demo world (Kraków, brands, people, posts)")
    demo.add_argument(
        "--password", default=DEMO_PASSWORD, help=f"password of the demo accounts (default: {DEMO_PASSWORD})"
    )
    demo.set_defaults(func=lambda a: asyncio.run(_run(a)))
