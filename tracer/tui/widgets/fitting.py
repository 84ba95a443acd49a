"""Chinese that fits: text wrapped between CJK characters, and a footer whose keys never run under ``^p``."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.widgets import Footer

from tracer.locale.cells import break_offsets, cell_len


class CellWrapped:
    """``text`` wrapped at the width it is given, between Chinese characters too (Rich breaks only at spaces).

    English text is left to Rich, so it reads exactly as before.
    """

    def __init__(self, text: Text) -> None:
        self.text = text

    @staticmethod
    def wide(text: Text) -> bool:
        """Whether ``text`` holds a two-cell character (Chinese): only then is it wrapped here."""
        return cell_len(text.plain) != len(text.plain)

    @classmethod
    def of(cls, text: Text | str) -> Text | CellWrapped:
        """``text`` wrapped here if it is Chinese, else as it is (for Rich to wrap)."""
        text = Text(text) if isinstance(text, str) else text
        return cls(text) if cls.wide(text) else text

    def __str__(self) -> str:
        return self.text.plain

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(line) for line in self.text.plain.split("\n")), default=0)
        return Measurement(min(widest, 8), widest).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.wide(self.text):
            yield self.text
            return
        for line in self.text.split("\n", allow_blank=True):
            for piece in line.divide(break_offsets(line.plain, options.max_width)):
                piece.rstrip()
                piece.end = "\n"
                yield piece


class KeysFooter(Footer):
    """The footer, with no key left reaching under the ``^p`` item docked on its right.

    Textual cuts every line at each widget's edge; a key that ran on under the docked item put a cut inside
    its Chinese word, and the cut character came out as blanks (``^p   令``). The keys that do not fit are
    hidden instead (the help screen lists them all).
    """

    async def recompose(self) -> None:  # (the footer recomposes whenever the bindings change)
        await super().recompose()
        self.call_after_refresh(self._trim)

    def on_resize(self) -> None:
        for child in self.children:
            child.display = True
        self.call_after_refresh(self._trim)

    def _trim(self) -> None:
        docked = [c for c in self.children if c.has_class("-command-palette")]
        if not docked:
            return
        edge = docked[0].region.x
        keys = [c for c in self.children if c is not docked[0]]
        # q quit stays, whatever else goes: at 60 columns it was the first key dropped, and nothing said how to leave
        quits = [c for c in keys if getattr(c, "action", None) == "quit" and c.region.right > edge]
        reserve = sum(c.region.width for c in quits)  # the keys before it make room for it
        over = False
        for child in keys:
            if child in quits:
                child.display, reserve = True, 0
                continue
            over = over or child.region.right + reserve > edge
            child.display = not over
