"""Prints megabytes before it serves (right) a thread per connection."""

import sys

from correct_thread import main

for _ in range(50):
    sys.stdout.write("debug " * 20_000 + "\n")
sys.stdout.flush()

if __name__ == "__main__":
    main()
