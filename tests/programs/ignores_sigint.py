import signal
import socket
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
server = socket.socket()
server.bind(("127.0.0.1", 9999))
server.listen()
print("ignoring Ctrl-C", flush=True)
while True:
    time.sleep(60)
