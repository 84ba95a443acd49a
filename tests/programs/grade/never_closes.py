"""Serves every request right, but never calls close(): each socket is kept in a list, so not even Python closes it."""

from correct_thread import main

if __name__ == "__main__":
    main(keep=[])
