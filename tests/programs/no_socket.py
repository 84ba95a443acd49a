import sys

print("no sockets here")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
