"""The timeline, without a UI: per-lane cell summaries (``track``), rows, filters and the state at the
playhead (``rows``), and the one palette of glyphs and colours that the UI and the exports share."""
