"""Model nouns whose SGJP paradigms lend their endings to unknown names.

Hand-picked (not copied from anywhere) to cover the usual final letters of
brand and place names in each gender.  For consonant-final masculine nouns
there are models with genitive ``-a`` *and* ``-u`` so that an unknown brand
gets both (``Blipa``/``Blipu``): over-generation is harmless for matching,
under-generation loses mentions.  Models with mobile vowels or stem
alternations are fine: the grafting code only uses a model when the unknown
word ends with the whole alternating part (see ``forms._graft``).
"""

from __future__ import annotations

MODEL_NOUNS: tuple[str, ...] = (
    # masculine inanimate / animal, consonant-final
    "klub", "grzyb", "koc", "pałac", "dach", "brzuch", "strych", "klucz", "mecz",
    "obiad", "wykład", "sad", "golf", "telegraf", "blog", "pług", "dialog",
    "kraj", "olej", "kij", "bank", "park", "smak", "ptak", "buk", "hak",
    "hotel", "portal", "styl", "szpital", "festiwal", "kanał", "materiał",
    "pedał", "dom", "film", "album", "system", "sum", "program", "telefon",
    "ekran", "magazyn", "baran", "kran", "słoń", "sklep", "laptop", "snop",
    "trop", "komputer", "rower", "teatr", "serwer", "browar", "bar", "talerz",
    "kalendarz", "autobus", "kompas", "nos", "ananas", "interes", "kosz",
    "tusz", "kapelusz", "gulasz", "internet", "bilet", "kot", "portret",
    "budżet", "sport", "kontrakt", "produkt", "samolot", "automat", "kret",
    "zlew", "rękaw", "staw", "zestaw", "obraz", "gaz", "głaz", "garaż",
    "bagaż", "jeż", "masaż", "zamek", "domek", "koniec", "taniec", "lis",
    "stół", "kciuk", "mak", "tort", "bigos", "pies",
    # feminine -a
    "skarpeta", "szafa", "lampa", "woda", "droga", "książka", "matka",
    "apteka", "fabryka", "firma", "marka", "bluza", "kasza", "ulica", "kawa",
    "sowa", "gazeta", "szkoła", "pralka", "kuchnia", "historia", "mapa",
    "kobieta", "tabletka", "herbata", "kreda", "lina", "ryba", "kara", "gra",
    "ropa", "kostka", "wiśnia", "szyja", "aleja", "pizza", "kiełbasa",
    "koszula", "sala", "pasta", "szyna", "brama", "łopata", "nuta",
    # neuter -o / -e / -um
    "drzewo", "słowo", "piwo", "mleko", "jabłko", "okno", "koło", "auto",
    "radio", "biuro", "miasto", "ciasto", "Gniezno", "pudełko", "wojsko",
    "jajo", "lustro", "krzesło", "sito", "wino", "złoto", "kino", "mięso",
    "pole", "morze", "serce", "zdjęcie", "mieszkanie", "danie", "muzeum",
    "centrum", "forum",
)
