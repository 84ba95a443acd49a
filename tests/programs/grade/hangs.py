"""Never listens: it waits for something that never comes."""

import threading

threading.Event().wait()
