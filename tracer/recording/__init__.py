"""The recording format in one place: its name and version and the checks on a path (``format``), the
event kinds (``events``), the reader (``reader``) into the columnar model (``model``), and following a
file while it grows (``follow``).  Nothing here imports the recorder: reading loads no writer."""
