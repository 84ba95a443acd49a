"""Crashes before it listens."""

import socket

server = socket.socket()
raise RuntimeError("forgot to bind")
