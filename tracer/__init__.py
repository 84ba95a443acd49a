"""sockscope: record, replay and export what a socket server's threads do."""

__version__ = "0.1.0"
