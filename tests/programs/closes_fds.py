"""A program that closes every descriptor above 2 below argv[2] (4096: as daemons do), then opens a file of its own
and uses sockets."""

import os
import socket
import sys
import time

os.closerange(3, int(sys.argv[2]) if len(sys.argv) > 2 else 4096)
mine = open(sys.argv[1], "w")  # on the lowest free number: the recording's was 3 once
mine.write("MY DATA\n")
mine.flush()
for _ in range(5):
    a, b = socket.socketpair()
    a.sendall(b"hi")
    b.recv(10)
    a.close()
    b.close()
time.sleep(0.2)  # the recorder's writer runs meanwhile
with socket.create_server(("127.0.0.1", 0)):
    pass
mine.close()
print("done")
