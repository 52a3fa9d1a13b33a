"""SVG icons (stroke drawings on a 24-unit grid).

Every page carries them once, as symbols (``SPRITE``, right after ``<body>``); each use
is a ``<use href="#i-name">`` of a hundred bytes, so twenty post cards do not repeat the
drawings. Inline in the page, they need no request, follow the text colour
(``currentColor``) and stay within the CSP. They are decorative, hidden from screen
readers: the control around each one is labelled.
"""

from __future__ import annotations

from markupsafe import Markup

_STROKE = 'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"'

_PATHS = {
    "home": '<path d="M3 11.5 12 4l9 7.5"/><path d="M5.5 10v10h13V10"/><path d="M10 20v-5h4v5"/>',
    "bell": '<path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4z"/><path d="M10 20a2 2 0 0 0 4 0"/>',
    "compass": '<circle cx="12" cy="12" r="9"/><path d="m15.5 8.5-2 5-5 2 2-5z"/>',
    "search": '<circle cx="11" cy="11" r="6.5"/><path d="m16 16 4.5 4.5"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
    "gear": '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"/>',
    "reply": '<path d="M10 8 4 13l6 5"/><path d="M4 13h9a7 7 0 0 1 7 7"/>',
    "boost": '<path d="M7 7h11v6"/><path d="m15 4 3 3-3 3"/><path d="M17 17H6v-6"/><path d="m9 20-3-3 3-3"/>',
    "star": '<path d="m12 3 2.7 5.6 6.1.9-4.4 4.3 1 6.1L12 17l-5.4 2.9 1-6.1L3.2 9.5l6.1-.9z"/>',
    "trash": '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>',
    "lock": '<rect x="5" y="11" width="14" height="9" rx="1"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9s1-6.5 3.5-9z"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="1"/><path d="m3 7 9 6 9-6"/>',
    "ear": '<path d="M7 10a5 5 0 0 1 10 0c0 3-3 4-3 7a3 3 0 0 1-6 0"/><path d="M10 10a2 2 0 0 1 4 0"/>',
    "image": '<rect x="3" y="4" width="18" height="16" rx="1"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/>',
}

SPRITE = Markup(
    '<svg class="icon-sprite" aria-hidden="true" focusable="false" width="0" height="0">'
    + "".join(f'<symbol id="i-{name}" viewBox="0 0 24 24" {_STROKE}>{body}</symbol>' for name, body in _PATHS.items())
    + "</svg>"
)
ICONS: dict[str, Markup] = {
    name: Markup(f'<svg class="icon" width="20" height="20" aria-hidden="true" focusable="false"><use href="#i-{name}"/></svg>')
    for name in _PATHS
}


def icon(name: str) -> Markup:
    return ICONS[name]
