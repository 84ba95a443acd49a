"""Processes: the traced server in this process (``runner``), child processes started and stopped in
order (``processes``), the headless recording session (``headless``), the live session
(``live_session``), the benchmark (``benchmark``) and the shipped recordings (``shipped``)."""
