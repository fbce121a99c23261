"""Text from input, made safe to show: control characters become visible.

A page's title, a file name or a reason quoting either may carry an escape sequence (which a
terminal would obey: retitle the window, hide text, forge colours), a newline (which would
forge a line of our own output), a bell or a right-to-left override (which reorders what a
reader sees). Shown through `printable`, each is a visible character instead.
"""

from __future__ import annotations

# C0 controls and DEL as their visible pictures (U+2400…); C1 controls (0x9B starts an
# escape sequence on some terminals), bidirectional overrides and isolates as their code point.
_CONTROLS = {c: chr(0x2400 + c) for c in range(32)} | {0x7F: "\u2421"} | {
    c: f"<U+{c:04X}>" for c in (*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                0x200E, 0x200F)}
_KEEP_LINES = {c: v for c, v in _CONTROLS.items() if chr(c) not in "\t\n"}


def printable(text: object, *, keep_lines: bool = False) -> str:
    """`text` with every control character visible; tab and newline kept if `keep_lines`
    (for a block of page text in the dashboard, never for one line on a terminal)."""
    return str(text).translate(_KEEP_LINES if keep_lines else _CONTROLS)
